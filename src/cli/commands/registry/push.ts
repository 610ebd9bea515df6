import { isAbsolute, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../../../errors.js';
import { checkPlatforms, type BuiltArtifact } from '../../../artifact/build.js';
import { createdFromSourceDateEpoch, prepareArtifact, publishArtifact, type PublishRequest } from '../../../artifact/publish.js';
import type { PushEvent } from '../../../artifact/push.js';
import { ARTIFACT_TYPES, type ArtifactType } from '../../../artifact/media-types.js';
import { isStrictVersion } from '../../../artifact/semver.js';
import { floatingTags, planTags } from '../../../artifact/tags.js';
import { anonymous } from '../../../oci/auth/types.js';
import { orasPushArtifact } from '../../../oci/oras-cli/backend.js';
import { parseReference, type Reference } from '../../../oci/reference.js';
import { createRegistryClient } from '../../../oci/registry/client.js';
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
  const type = o.type as ArtifactType;
  const platforms = (o.platform as string[] | undefined) ?? [];
  checkPlatforms(type, files.length, platforms);
  const version = String(o.version);
  if (!isStrictVersion(version)) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid value "${version}" for --version: expected semver X.Y.Z[-prerelease]`, { hint: 'for example --version 1.2.3' });
  }
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
  return createdFromSourceDateEpoch(env.SOURCE_DATE_EPOCH);
}

async function runPush(rt: Runtime, cmd: Command, req: PushRequest): Promise<void> {
  const signal = rt.io.signal;
  const settings = await loadSettings(rt, cmd);
  const access = createRegistryAccess(rt, settings, req.registry);
  const progress = progressFor(rt.io.stderr, rt.globals.logFormat);
  const reference = req.ref.digest ?? req.ref.tag;
  const publish: PublishRequest = {
    type: req.type, version: req.version, name: req.name, files: req.files, dependsOn: req.dependsOn, requires: req.requires,
    tags: req.tags, validate: req.validate, created: createdFor(rt.io.env), repository: `${req.ref.registry}/${req.ref.repository}`,
    ...(reference ? { reference } : {}),
    ...(req.annotationSource ? { annotationSource: req.annotationSource } : {}),
    ...(req.signKey ? { signKey: req.signKey } : {}),
  };
  let built: BuiltArtifact | undefined;
  try {
    let tags: string[];
    if (chooseBackend(req.registry, settings) === 'oras') {
      built = await buildForOras(rt, publish);
      const plan = planTags(reference, req.tags);
      await orasPushArtifact(await orasSessionFor(rt, settings, req.registry, req.ref.registry), built, req.ref, plan);
      tags = [plan.first, ...plan.then.filter((t) => t !== plan.first)];
    } else {
      const target = await access.targets(req.ref);
      const result = await publishArtifact(target, publish, { signal, logger: rt.logger, onProgress: progressHandler(rt, progress) });
      built = result.built;
      tags = result.tags;
    }
    progress.finish();
    const digest = built.root.descriptor.digest;
    const warning = await visibilityWarning(req.ref, digest, async () => {
      const client = createRegistryClient({ credentials: anonymous, env: rt.io.env, signal });
      try {
        await client.repository(req.ref).headManifest(digest, { signal });
      } finally {
        await client.close();
      }
    });
    if (warning) rt.logger.warn(warning);
    printResult(rt.io.stdout, rt.output, pushResult(req, built, tags), (r) => `Artifact pushed\nreference: ${r.reference}\ndigest: ${r.digest}\ntags: ${r.tags.join(', ')}`);
  } finally {
    progress.finish();
    await access.close();
    await built?.dispose();
  }
}

/** The oras backend pushes what the native builder built (same bytes, same digests); signing is native only. */
async function buildForOras(rt: Runtime, req: PublishRequest): Promise<BuiltArtifact> {
  if (req.signKey) throw new RulesctlError(ErrorCodes.USAGE, '--sign is not supported with --backend oras', { hint: 'push with the native backend to sign' });
  return prepareArtifact(req, { signal: rt.io.signal, logger: rt.logger });
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
