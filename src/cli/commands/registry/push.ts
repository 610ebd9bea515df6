import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser } from 'tar';
import { isAbsolute, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../../../errors.js';
import { buildArtifact, type BuiltArtifact } from '../../../artifact/build.js';
import type { ArtifactConfig } from '../../../artifact/config.js';
import { applyDependsOn, applyRequires } from '../../../artifact/config-flags.js';
import { rulesfileConfig } from '../../../artifact/config-rules.js';
import { createdFromEpoch } from '../../../artifact/manifest.js';
import { ARTIFACT_TYPES, type ArtifactType } from '../../../artifact/media-types.js';
import { isTarGz } from '../../../artifact/pack.js';
import { pushArtifact, type PushEvent } from '../../../artifact/push.js';
import { isStrictVersion } from '../../../artifact/semver.js';
import { floatingTags, planTags } from '../../../artifact/tags.js';
import { formatRulesProblem, validateRules } from '../../../artifact/validate-rules.js';
import { anonymous } from '../../../oci/auth/types.js';
import { orasPushArtifact } from '../../../oci/oras-cli/backend.js';
import { parseReference, type Reference } from '../../../oci/reference.js';
import { createRegistryClient } from '../../../oci/registry/client.js';
import { readSigningKey } from '../../../signature/keys.js';
import { signArtifact } from '../../../signature/sign.js';
import type { CliIO } from '../../io.js';
import { createRegistryAccess, loadSettings } from '../../context.js';
import { addOutputOption } from '../../options/output.js';
import { addRegistryOptions, chooseBackend, collect, orasSessionFor, readRegistryOptions, type RegistryOptions } from '../../options/registry.js';
import { printResult } from '../../output/print.js';
import { progressFor, type Progress } from '../../output/progress.js';
import type { Runtime } from '../../runtime.js';
import type { ActionWrapper } from '../register.js';

/** A parsed `registry push` command line. */
export interface PushRequest {
  reference: string;
  ref: Reference;
  type: ArtifactType;
  version: string;
  name: string;
  files: { path: string; platform?: string }[];
  dependsOn: string[];
  requires: string[];
  /** User tags, then the floating tags when asked. */
  tags: string[];
  annotationSource?: string;
  validate: boolean;
  signKey?: string;
  registry: RegistryOptions;
}

const EXAMPLES = `
Examples:
  # a rules file (packed as falco_rules.tar.gz; dependencies and requirements read from the file)
  rulesctl registry push ghcr.io/org/rules/falco-rules:latest falco_rules.yaml --type rulesfile --version 1.2.3 --add-floating-tags

  # a plugin for two platforms (always an image index; the i-th --platform pairs with the i-th file)
  rulesctl registry push ghcr.io/org/plugins/plugin/cloudtrail plugin-amd64.tar.gz plugin-arm64.tar.gz \\
    --type plugin --version 0.12.0 --platform linux/amd64 --platform linux/arm64 -r plugin_api_version:3.0.0

  # a local registry over plain HTTP, JSON result on stdout, signed with a cosign-compatible key
  rulesctl registry push localhost:5000/rules:0.1.0 my_rules.yaml --type rulesfile --version 0.1.0 --plain-http -o json --sign --key key.pem

The created annotation is SOURCE_DATE_EPOCH when set, else 1970-01-01T00:00:00Z, so identical inputs
give identical digests. Credentials: falcoctl.yaml registry.auth.basic, FALCOCTL_REGISTRY_AUTH_BASIC,
'rulesctl registry auth basic', or the docker config.`;

/** `rulesctl registry push REF FILE...` (falcoctl.md §1-6): falcoctl's flags, plus validation, JSON output, signing and the oras backend. */
export function pushCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('push')
    .description('Push a Falco rules file, plugin or asset to an OCI registry')
    .argument('<ref>', 'hostname/repo[:tag|@digest]')
    .argument('<files...>', 'the files to push (one per --platform for plugins)')
    .addOption(new Option('--type <type>', 'type of artifact to be pushed').choices([...ARTIFACT_TYPES]).makeOptionMandatory())
    .requiredOption('--version <version>', 'set the version of the artifact (strict semver X.Y.Z[-pre])')
    .option('--name <name>', 'set the unique name of the artifact (default: the last component of the repository)')
    .option('--platform <os/arch>', 'os and architecture of the artifact in OS/ARCH format, once per plugin file', collect)
    .option('-d, --depends-on <deps>', 'set an artifact dependency ("name:1.2.3" or "name:1.2.3|alt:3.2.1"), repeatable', collect)
    .option('-r, --requires <req>', 'set an artifact requirement ("name:version"), repeatable', collect)
    .option('-t, --tag <tag>', 'additional artifact tag, repeatable', collect)
    .option('--add-floating-tags', 'add the floating tags <major> and <major>.<minor> and the version itself', false)
    .option('--annotation-source <url>', 'set the org.opencontainers.image.source annotation')
    .option('--no-validate', 'do not validate rules files before pushing (rulesctl)')
    .option('--sign', 'sign the pushed artifact with --key, cosign-compatible (rulesctl)')
    .option('--key <file>', 'PEM EC P-256 private key for --sign (rulesctl)');
  addRegistryOptions(cmd);
  addOutputOption(cmd);
  return cmd.addHelpText('after', EXAMPLES).action(action(io, async (rt, args, c) => {
    const request = parsePushRequest(args[0] as string, args[1] as string[], c.opts(), rt.io.cwd);
    await runPush(rt, c, request);
  }));
}

/** Turns the raw command line into a PushRequest; throws ERR_USAGE quoting the bad value. */
export function parsePushRequest(reference: string, files: string[], o: Record<string, unknown>, cwd: string): PushRequest {
  const ref = parseReference(reference);
  const version = String(o.version);
  if (!isStrictVersion(version)) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid value "${version}" for --version: expected semver X.Y.Z[-prerelease]`, { hint: 'for example --version 1.2.3' });
  }
  const platforms = (o.platform as string[] | undefined) ?? [];
  const type = o.type as ArtifactType;
  const tags = [...((o.tag as string[] | undefined) ?? []), ...(o.addFloatingTags === true ? floatingTags(version) : [])];
  if (o.sign === true && typeof o.key !== 'string') {
    throw new RulesctlError(ErrorCodes.USAGE, '--sign needs --key FILE', { hint: 'give the PEM private key: --sign --key cosign-key.pem' });
  }
  const req: PushRequest = {
    reference, ref, type, version,
    name: typeof o.name === 'string' && o.name !== '' ? o.name : ref.repository.split('/').pop()!,
    files: files.map((f, i) => ({ path: isAbsolute(f) ? f : resolve(cwd, f), ...(type === 'plugin' && platforms[i] ? { platform: platforms[i] } : {}) })),
    dependsOn: (o.dependsOn as string[] | undefined) ?? [],
    requires: (o.requires as string[] | undefined) ?? [],
    tags: [...new Set(tags)],
    validate: o.validate !== false,
    registry: readRegistryOptions(o),
  };
  if (typeof o.annotationSource === 'string' && o.annotationSource !== '') req.annotationSource = o.annotationSource;
  if (o.sign === true) req.signKey = o.key as string;
  return req;
}

/** The created annotation: SOURCE_DATE_EPOCH when set (an integer), else the Unix epoch. */
export function createdFor(env: Record<string, string | undefined>): string {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return createdFromEpoch(0);
  if (!/^\d+$/.test(raw)) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid SOURCE_DATE_EPOCH "${raw}": expected a Unix time in seconds`, { hint: 'for example SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)' });
  }
  return createdFromEpoch(Number(raw));
}

async function runPush(rt: Runtime, cmd: Command, req: PushRequest): Promise<void> {
  const signal = rt.io.signal;
  const settings = await loadSettings(rt, cmd);
  const config = await configFor(rt, req);
  const built = await buildArtifact({
    type: req.type, files: req.files, name: req.name, version: req.version,
    ...(config.dependencies ? { dependencies: config.dependencies } : {}),
    ...(config.requirements ? { requirements: config.requirements } : {}),
    ...(req.annotationSource ? { annotationSource: req.annotationSource } : {}),
    created: createdFor(rt.io.env), signal,
  });
  const access = createRegistryAccess(rt, settings, req.registry);
  const progress = progressFor(rt.io.stderr, rt.globals.logFormat);
  try {
    const reference = req.ref.digest ?? req.ref.tag;
    let tags: string[];
    if (chooseBackend(req.registry, settings) === 'oras') {
      const plan = planTags(reference, req.tags);
      await orasPushArtifact(await orasSessionFor(rt, settings, req.registry, req.ref.registry), built, req.ref, plan);
      tags = [plan.first, ...plan.then.filter((t) => t !== plan.first)];
    } else {
      const target = await access.targets(req.ref);
      const onProgress = progressHandler(rt, progress);
      ({ tags } = await pushArtifact(target, built, { tags: req.tags, ...(reference ? { reference } : {}), signal, onProgress }));
    }
    progress.finish();
    if (req.signKey) {
      const key = await readSigningKey(req.signKey, { signal });
      await signArtifact({ target: await access.targets(req.ref), repository: `${req.ref.registry}/${req.ref.repository}`, digest: built.root.descriptor.digest, key, signal });
      rt.logger.info('Artifact signed', { digest: built.root.descriptor.digest });
    }
    const warning = await visibilityWarning(req.ref, built.root.descriptor.digest, async () => {
      const client = createRegistryClient({ credentials: anonymous, env: rt.io.env, signal });
      try {
        await client.repository(req.ref).headManifest(built.root.descriptor.digest, { signal });
      } finally {
        await client.close();
      }
    });
    if (warning) rt.logger.warn(warning);
    printResult(rt.io.stdout, rt.output, pushResult(req, built, tags), (r) => `Artifact pushed\nreference: ${r.reference}\ndigest: ${r.digest}\ntags: ${r.tags.join(', ')}`);
  } finally {
    progress.finish();
    await access.close();
    await built.dispose();
  }
}

/** The artifact config: from the rules file (validated unless --no-validate) or from the flags only. */
async function configFor(rt: Runtime, req: PushRequest): Promise<ArtifactConfig> {
  let config: ArtifactConfig = { name: req.name, version: req.version };
  const file = req.files[0];
  const archive = file !== undefined && (await isTarGz(file.path, { signal: rt.io.signal }));
  if (req.type === 'rulesfile' && archive && req.validate) {
    for (const entry of await rulesInArchive(file.path, rt.io.signal)) checkRules(rt, entry.text, `${file.path}/${entry.name}`);
  }
  if (req.type !== 'rulesfile' || req.files.length !== 1 || !file || archive) {
    if (req.dependsOn.length) config = applyDependsOn(config, req.dependsOn);
    if (req.requires.length) config = applyRequires(config, req.requires);
    return config;
  }
  const text = await readFile(file.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new RulesctlError(ErrorCodes.IO, `cannot read "${file.path}": ${err.code ?? err.message}`, { hint: 'check the path of the rules file' });
  });
  if (req.validate) checkRules(rt, text, file.path);
  const derived = rulesfileConfig({ yamlText: text, file: file.path, name: req.name, version: req.version, dependsOn: req.dependsOn, requires: req.requires });
  for (const w of derived.warnings) rt.logger.warn(w);
  return derived.config;
}

const MAX_RULES_FILE_BYTES = 16 * 1024 * 1024;

/** The `.yaml`/`.yml` regular files of a rules tar.gz (plugins CI ruleset archives), for validation. */
async function rulesInArchive(path: string, signal: AbortSignal): Promise<{ name: string; text: string }[]> {
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
  await pipeline(createReadStream(path), createGunzip(), parser as unknown as NodeJS.WritableStream, { signal });
  return found;
}

function checkRules(rt: Runtime, text: string, file: string): void {
  const problems = validateRules(text, file);
  for (const p of problems.filter((x) => x.severity === 'warning')) rt.logger.warn(formatRulesProblem(p));
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length === 0) return;
  throw new RulesctlError(ErrorCodes.INVALID_RULES, `invalid rules file "${file}", nothing was pushed:\n  ${errors.map(formatRulesProblem).join('\n  ')}`, {
    hint: 'fix the lines above, or push anyway with --no-validate',
    details: { file, problems: errors },
  });
}

/** falcoctl's per-blob logs (`Pushing layer <12 hex>`, `<12 hex>: layer already exists`) and the bars. */
function progressHandler(rt: Runtime, progress: Progress): (e: PushEvent) => void {
  let update: (bytes: number) => void = () => {};
  return (e) => {
    const short = e.descriptor.digest.replace(/^sha256:/, '').slice(0, 12);
    const blob = e.kind === 'layer' || e.kind === 'config';
    if (!blob) rt.logger.debug(`${e.phase === 'exists' ? 'Manifest already exists' : e.phase === 'start' ? 'Pushing manifest' : 'Pushed manifest'} ${short}`);
    else if (e.phase === 'exists') rt.logger.info(`${short}: layer already exists`);
    else if (e.phase === 'start') {
      rt.logger.info(`Pushing layer ${short}`);
      update = progress.start(`Pushing ${e.kind} ${short}`, e.descriptor.size);
    } else if (e.phase === 'bytes' && e.bytes !== undefined) update(e.bytes);
    else if (e.phase === 'done') {
      update(e.descriptor.size);
      progress.finish();
    }
  };
}

/**
 * ghcr.io creates new packages private: after a push there, an anonymous HEAD of the pushed digest
 * that is refused (401/403) means Falco hosts without credentials cannot pull it. Returns the warning
 * to log, or undefined (other hosts, public packages, or a probe that failed for another reason).
 */
export async function visibilityWarning(ref: Pick<Reference, 'registry' | 'repository'>, digest: string, anonymousHead: () => Promise<unknown>): Promise<string | undefined> {
  if (ref.registry.toLowerCase() !== 'ghcr.io') return undefined;
  try {
    await anonymousHead();
    return undefined;
  } catch (err) {
    const status = isRulesctlError(err) ? (err.details as { status?: number } | undefined)?.status : undefined;
    const code = isRulesctlError(err) ? err.code : undefined;
    if (status === 401 || status === 403 || code === ErrorCodes.UNAUTHORIZED || code === ErrorCodes.DENIED) {
      const [owner, ...rest] = ref.repository.split('/');
      return `ghcr.io/${ref.repository}@${digest} is private: anonymous pulls are refused. To let Falco hosts pull it without credentials, ` +
        `make the package public in its settings (https://github.com/${owner}?tab=packages → ${rest.join('/') || owner} → Package settings → Change visibility).`;
    }
    return undefined;
  }
}

interface PushResultJson {
  reference: string;
  digest: string;
  tags: string[];
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers?: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
  manifests?: { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string } }[];
}

function pushResult(req: PushRequest, built: BuiltArtifact, tags: string[]): PushResultJson {
  const repo = `${req.ref.registry}/${req.ref.repository}`;
  const { mediaType, digest, size } = built.config.descriptor;
  const out: PushResultJson = { reference: `${repo}@${built.root.descriptor.digest}`, digest: built.root.descriptor.digest, tags, mediaType: built.root.descriptor.mediaType, config: { mediaType, digest, size } };
  if (built.type === 'plugin') {
    out.manifests = built.manifests.map((m) => ({ mediaType: m.descriptor.mediaType, digest: m.descriptor.digest, size: m.descriptor.size, ...(m.platform ? { platform: { os: m.platform.os, architecture: m.platform.architecture } } : {}) }));
  } else {
    out.layers = built.manifests.map((m) => ({ ...m.layerDescriptor }));
  }
  return out;
}
