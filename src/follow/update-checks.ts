import { readFile } from 'node:fs/promises';
import type { ArtifactConfig } from '../artifact/config.js';
import type { ArtifactType } from '../artifact/media-types.js';
import { diffRules, isEmptyDiff, type NameDiff, type RulesDiff } from '../artifact/rules-diff.js';
import { formatRulesProblem, validateRules } from '../artifact/validate-rules.js';
import { ErrorCodes, isRulesctlError } from '../errors.js';
import type { Logger } from '../log.js';
import { checkPluginVersions, checkRequirements, type FalcoVersions } from '../resolve/requirements.js';
import type { RefusalReason } from './follower.js';
import type { UpdateContext } from './update.js';

/**
 * The checks of a follow update that need no registry: requirements against Falco's `/versions`,
 * rules validation, the rules diff summary (falcoctl.md §11 step 3, registries.md §1.I item 7), and
 * which thrown errors refuse the digest itself.
 */

/**
 * Every unmet requirement, joined, or undefined. Requirements use falcoctl's rules; a rules file's
 * plugin dependencies are checked only when Falco reports `plugin_versions` (it does only with
 * plugins loaded). Each message names both versions (`requires engine_version_semver 0.99.0,
 * Falco reports 0.63.0`).
 */
export function checkArtifactRequirements(
  config: ArtifactConfig,
  type: ArtifactType,
  versions: FalcoVersions,
  pluginVersions: Record<string, string> | undefined,
): string | undefined {
  const failures = checkRequirements(config.requirements, versions);
  if (type === 'rulesfile' && pluginVersions && Object.keys(pluginVersions).length > 0) {
    failures.push(...checkPluginVersions(config.dependencies, pluginVersions));
  }
  return failures.length > 0 ? failures.map((f) => f.message).join('; ') : undefined;
}

/** `ctx.readFalcoVersions()`, or the versions read at start when it is absent or fails. */
export async function currentFalcoVersions(ctx: UpdateContext, signal: AbortSignal, log: Logger): Promise<{ versions: FalcoVersions; pluginVersions?: Record<string, string> }> {
  const fallback = { versions: ctx.falcoVersions, ...(ctx.pluginVersions ? { pluginVersions: ctx.pluginVersions } : {}) };
  if (!ctx.readFalcoVersions) return fallback;
  try {
    return await ctx.readFalcoVersions(signal);
  } catch (err) {
    log.debug('Unable to read Falco versions again, using the ones read at start', { followerName: ctx.ref, reason: (err as Error).message });
    return fallback;
  }
}

/**
 * The refusal a thrown error means for the digest being updated (the follower's `REFUSALS` say
 * whether it is tried again), or undefined when the error says nothing about the digest (network,
 * I/O, setup): those are retried at the next tick.
 */
export function refusalOf(err: unknown): RefusalReason | undefined {
  if (isRulesctlError(err, ErrorCodes.DIGEST_MISMATCH) || isRulesctlError(err, ErrorCodes.INVALID_DIGEST)) return 'bad-digest';
  if (!isRulesctlError(err, ErrorCodes.SIGNATURE)) return undefined;
  // verifyArtifact's refusals; other ERR_SIGNATURE (no trusted root, unreadable key) are setup problems.
  switch (err.details?.reason) {
    case 'unsigned':
      return 'unsigned';
    case 'rejected':
    case 'digest-mismatch':
      return 'signature';
    default:
      return undefined;
  }
}

/** Error-level problems of the YAML files of a rules artifact, formatted `file:line: error: …`. */
export async function invalidRulesProblems(files: { rel: string; path: string }[]): Promise<string[]> {
  const problems: string[] = [];
  for (const f of files) {
    if (!/\.ya?ml$/i.test(f.rel)) continue;
    const text = await readFile(f.path, 'utf8');
    for (const p of validateRules(text, f.rel)) if (p.severity === 'error') problems.push(formatRulesProblem(p));
  }
  return problems;
}

/**
 * Name-based diff of two sets of rules files, each set read as one multi-document YAML stream
 * (so an item that moves between files is not a change). Unparsable input gives undefined.
 */
export function diffRuleSets(oldTexts: string[], newTexts: string[]): RulesDiff | undefined {
  try {
    return diffRules(joinDocs(oldTexts), joinDocs(newTexts));
  } catch {
    return undefined;
  }
}

function joinDocs(texts: string[]): string {
  return texts.filter((t) => t.trim() !== '').map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join('---\n');
}

/** `{added: n, removed: n, changed: n}` counts with names, for logs. */
function summary(d: NameDiff): Record<string, unknown> {
  return { added: d.added, removed: d.removed, changed: d.changed };
}

/** Logs the diff summary of an update at info (`Rules changes`), or that nothing named changed. */
export function logRulesDiff(log: Logger, ref: string, oldTexts: string[], newTexts: string[]): void {
  const d = diffRuleSets(oldTexts, newTexts);
  if (!d) return;
  if (isEmptyDiff(d)) {
    log.info('Rules changes: no rule, macro or list changed', { followerName: ref });
    return;
  }
  log.info(`Rules changes: ${describeDiff(d)}`, { followerName: ref, rules: summary(d.rules), macros: summary(d.macros), lists: summary(d.lists) });
}

/** `rules +2 -1 ~3, macros +0 -0 ~1, lists +0 -0 ~0`. */
export function describeDiff(d: RulesDiff): string {
  const part = (name: string, x: NameDiff) => `${name} +${x.added.length} -${x.removed.length} ~${x.changed.length}`;
  return [part('rules', d.rules), part('macros', d.macros), part('lists', d.lists)].join(', ');
}
