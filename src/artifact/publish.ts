import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Parser } from 'tar';
import { gunzip } from './_gunzip.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import type { Target } from '../oci/target.js';
import { readSigningKey } from '../signature/keys.js';
import { signArtifact } from '../signature/sign.js';
import { buildArtifact, type BuiltArtifact } from './build.js';
import type { ArtifactConfig } from './config.js';
import { applyDependsOn, applyRequires } from './config-flags.js';
import { rulesfileConfig } from './config-rules.js';
import { createdFromEpoch } from './manifest.js';
import type { ArtifactType } from './media-types.js';
import { isTarGz } from './pack.js';
import { pushArtifact, type PushEvent } from './push.js';
import { formatRulesProblem, validateRules } from './validate-rules.js';

/** What `registry push` publishes, as the library takes it (paths absolute). */
export interface PublishRequest {
  type: ArtifactType;
  version: string;
  name: string;
  files: { path: string; platform?: string }[];
  /** `-d/--depends-on` values; when empty for a rules file, read from `required_plugin_versions`. */
  dependsOn?: string[];
  /** `-r/--requires` values; when empty for a rules file, read from `required_engine_version`. */
  requires?: string[];
  /** The user's tags, followed by floating tags when asked. */
  tags?: string[];
  /** The tag or digest written in the target reference, if any. */
  reference?: string;
  annotationSource?: string;
  /** Validate rules files before anything is pushed (default true). */
  validate?: boolean;
  /** `org.opencontainers.image.created`; default from `sourceDateEpoch`, else the Unix epoch. */
  created?: string;
  /** Sign the root with this PEM private key file (cosign-compatible, key-based). */
  signKey?: string;
  /** `registry/repository` of the target, for the signature's subject. */
  repository?: string;
}

export interface PublishOptions {
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (e: PushEvent) => void;
}

export interface PublishResult {
  built: BuiltArtifact;
  rootDigest: string;
  tags: string[];
  signed: boolean;
}

/**
 * Publishes an artifact as falcoctl's `registry push` does (falcoctl.md §1-5): config from flags or
 * the rules file, rules validated first (rulesctl), layers packed deterministically, pushed in
 * falcoctl's order, then optionally signed. Nothing reaches the target when validation fails.
 * The caller disposes `result.built` (temporary archives).
 */
export async function publishArtifact(target: Target, req: PublishRequest, opts: PublishOptions = {}): Promise<PublishResult> {
  const logger = opts.logger ?? nullLogger;
  const built = await prepareArtifact(req, opts);
  try {
    const pushed = await pushArtifact(target, built, {
      tags: req.tags ?? [],
      ...(req.reference ? { reference: req.reference } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    let signed = false;
    if (req.signKey) {
      const key = await readSigningKey(req.signKey, opts.signal ? { signal: opts.signal } : {});
      await signArtifact({ target, repository: req.repository ?? target.name, digest: pushed.rootDigest, key, ...(opts.signal ? { signal: opts.signal } : {}) });
      logger.info('Artifact signed', { digest: pushed.rootDigest });
      signed = true;
    }
    return { built, rootDigest: pushed.rootDigest, tags: pushed.tags, signed };
  } catch (err) {
    await built.dispose();
    throw err;
  }
}

/**
 * Validates and builds the artifact without pushing it (config from flags or the rules file).
 * The caller disposes the result.
 */
export async function prepareArtifact(req: PublishRequest, opts: Omit<PublishOptions, 'onProgress'> = {}): Promise<BuiltArtifact> {
  const config = await configFor(req, opts.logger ?? nullLogger, opts.signal);
  return buildArtifact({
    type: req.type, files: req.files, name: req.name, version: req.version,
    ...(config.dependencies ? { dependencies: config.dependencies } : {}),
    ...(config.requirements ? { requirements: config.requirements } : {}),
    ...(req.annotationSource ? { annotationSource: req.annotationSource } : {}),
    created: req.created ?? createdFromEpoch(0),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** The created annotation from SOURCE_DATE_EPOCH (an integer), else the Unix epoch. */
export function createdFromSourceDateEpoch(raw: string | undefined): string {
  if (raw === undefined || raw === '') return createdFromEpoch(0);
  if (!/^\d+$/.test(raw)) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid SOURCE_DATE_EPOCH "${raw}": expected a Unix time in seconds`, { hint: 'for example SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)' });
  }
  return createdFromEpoch(Number(raw));
}

/** The artifact config: from the rules file (validated unless asked not to) or from the flags only. */
async function configFor(req: PublishRequest, logger: Logger, signal?: AbortSignal): Promise<ArtifactConfig> {
  let config: ArtifactConfig = { name: req.name, version: req.version };
  const dependsOn = req.dependsOn ?? [];
  const requires = req.requires ?? [];
  const validate = req.validate !== false;
  const file = req.files[0];
  // Only rules files need to know here (YAML to parse); prepareLayer checks every file once more.
  const archive = req.type === 'rulesfile' && file !== undefined && (await isTarGz(file.path, signal ? { signal } : {}));
  if (req.type === 'rulesfile' && archive && validate) {
    for (const entry of await rulesInArchive(file.path, signal)) checkRules(entry.text, `${file.path}/${entry.name}`, logger);
  }
  if (req.type !== 'rulesfile' || req.files.length !== 1 || !file || archive) {
    if (dependsOn.length) config = applyDependsOn(config, dependsOn);
    if (requires.length) config = applyRequires(config, requires);
    return config;
  }
  const text = await readFile(file.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new RulesctlError(ErrorCodes.IO, `cannot read "${file.path}": ${err.code ?? err.message}`, { hint: 'check the path of the rules file' });
  });
  if (validate) checkRules(text, file.path, logger);
  const derived = rulesfileConfig({ yamlText: text, file: file.path, name: req.name, version: req.version, dependsOn, requires });
  for (const w of derived.warnings) logger.warn(w);
  return derived.config;
}

const MAX_RULES_FILE_BYTES = 16 * 1024 * 1024;

/** The `.yaml`/`.yml` regular files of a rules tar.gz (plugins CI ruleset archives), for validation. */
async function rulesInArchive(path: string, signal?: AbortSignal): Promise<{ name: string; text: string }[]> {
  const found: { name: string; text: string }[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (e) => {
      if (e.type !== 'File' || !/\.ya?ml$/i.test(e.path) || e.size > MAX_RULES_FILE_BYTES) return void e.resume();
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => found.push({ name: e.path, text: Buffer.concat(chunks).toString('utf8') }));
    },
  });
  await pipeline(createReadStream(path), gunzip(), parser as unknown as NodeJS.WritableStream, signal ? { signal } : {});
  return found;
}

function checkRules(text: string, file: string, logger: Logger): void {
  const problems = validateRules(text, file);
  for (const p of problems.filter((x) => x.severity === 'warning')) logger.warn(formatRulesProblem(p));
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length === 0) return;
  throw new RulesctlError(ErrorCodes.INVALID_RULES, `invalid rules file "${file}", nothing was pushed:\n  ${errors.map(formatRulesProblem).join('\n  ')}`, {
    hint: 'fix the lines above, or push anyway with --no-validate',
    details: { file, problems: errors },
  });
}
