import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { Annotations, digestOf, isDigest, type Descriptor } from '../descriptor.js';
import { MediaTypes } from '../media-types.js';
import { manifestReference, parseReference, type Reference } from '../reference.js';
import type { OpOptions, Target } from '../target.js';
import { annotationFile, blobFetchArgs, manifestFetchArgs, manifestPushArgs, pushManifestArgs, tagArgs, type OrasRemote } from './args.js';
import { runOras, type OrasRunner } from './run.js';

/** One oras "session": how to run it, how to reach the registry, and the secret for stdin. */
export interface OrasSession {
  runner: OrasRunner;
  remote: OrasRemote;
  /** Password or identity token, written to stdin when `remote.credential` is set. */
  secret?: string;
  logger?: Logger;
  signal?: AbortSignal;
}

/** What an oras push needs from a built artifact (src/artifact/build.ts BuiltArtifact). */
export interface OrasPushInput {
  type: string;
  config: { descriptor: Descriptor; bytes: Buffer };
  manifests: { descriptor: Descriptor; bytes: Buffer; layer: { path: string; title: string } }[];
  root: { descriptor: Descriptor; bytes: Buffer };
}

function run(s: OrasSession, args: string[], extra: { cwd?: string; host?: string } = {}): Promise<Buffer> {
  return runOras(s.runner, args, {
    ...extra,
    ...(s.remote.credential && s.secret !== undefined ? { input: s.secret } : {}),
    ...(s.signal ? { signal: s.signal } : {}),
    ...(s.logger ? { logger: s.logger } : {}),
  });
}

/**
 * Pushes a built artifact with `oras push` (one per manifest, untagged), then the plugin index with
 * `oras manifest push`, then the tags with `oras tag`, in falcoctl's order (`first`, then `then`).
 * Each manifest oras produced is compared with rulesctl's bytes, so the result equals the native push.
 */
export async function orasPushArtifact(s: OrasSession, built: OrasPushInput, ref: Reference, plan: { first: string; then: string[] }): Promise<void> {
  const repo = `${ref.registry}/${ref.repository}`;
  const host = ref.registry;
  const work = await mkdtemp(join(tmpdir(), 'rulesctl-oras-'));
  try {
    const configPath = join(work, 'config.json');
    await writeFile(configPath, built.config.bytes);
    for (const [i, m] of built.manifests.entries()) {
      const ann = m.descriptor.annotations ?? {};
      const annotationFilePath = join(work, `annotations-${i}.json`);
      await writeFile(annotationFilePath, annotationFile(ann[Annotations.created] ?? '', ann[Annotations.source]));
      const exportManifestPath = join(work, `manifest-${i}.json`);
      const layerMediaType = JSON.parse(m.bytes.toString('utf8')).layers[0].mediaType as string;
      await run(s, pushManifestArgs({
        ...s.remote, repository: repo, configPath, configMediaType: built.config.descriptor.mediaType,
        layerName: m.layer.title, layerMediaType, annotationFilePath, exportManifestPath,
      }), { cwd: dirname(m.layer.path), host });
      const pushed = await readFile(exportManifestPath);
      if (digestOf(pushed) !== m.descriptor.digest) {
        throw new RulesctlError(ErrorCodes.ORAS, `oras pushed manifest ${digestOf(pushed)} for "${repo}", not the expected ${m.descriptor.digest}`, {
          hint: 'this oras version packs manifests differently; use --backend native', details: { expected: m.bytes.toString('utf8'), got: pushed.toString('utf8') },
        });
      }
    }
    const rootRef = (tag: string) => `${repo}${isDigest(tag) ? '@' : ':'}${tag}`;
    const byDigest = `${repo}@${built.root.descriptor.digest}`;
    if (built.root.descriptor.mediaType === MediaTypes.ociIndex) {
      const indexPath = join(work, 'index.json');
      await writeFile(indexPath, built.root.bytes);
      await run(s, manifestPushArgs({ ...s.remote, reference: rootRef(plan.first), file: indexPath }), { host });
    } else if (!isDigest(plan.first)) {
      await run(s, tagArgs({ ...s.remote, reference: byDigest, tags: [plan.first] }), { host });
    }
    if (plan.then.length > 0) await run(s, tagArgs({ ...s.remote, reference: byDigest, tags: plan.then }), { host });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * A read-only `Target` over `oras manifest fetch` / `oras blob fetch`, enough for the artifact
 * library's manifest resolution and config reads (src/artifact/resolve-manifest.ts, pull.ts
 * fetchConfig). Manifest bytes are checked against the digest when one is known. Blobs are read
 * whole: use it for configs, and `orasPullLayer` for layers.
 */
export function orasReadTarget(s: OrasSession, repository: string): Target {
  const host = parseReference(`${repository}:x`).registry;
  const unsupported = (op: string) => async (): Promise<never> => {
    throw new Error(`orasReadTarget: ${op} is not supported`);
  };
  const fetchManifest = async (reference: string | Descriptor, _o?: OpOptions): Promise<{ descriptor: Descriptor; bytes: Buffer }> => {
    const want = typeof reference === 'string' ? reference : reference.digest;
    const bytes = await run(s, manifestFetchArgs({ ...s.remote, reference: `${repository}${isDigest(want) ? '@' : ':'}${want}` }), { host });
    const digest = digestOf(bytes);
    if (isDigest(want) && digest !== want) {
      throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `manifest ${want} of ${repository}: content has digest ${digest}`);
    }
    let mediaType = typeof reference === 'string' ? '' : reference.mediaType;
    try {
      mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? mediaType;
    } catch {
      // resolveManifest reports invalid JSON
    }
    return { descriptor: { mediaType: mediaType || MediaTypes.ociManifest, digest, size: bytes.length }, bytes };
  };
  return {
    name: repository,
    fetchManifest,
    resolve: async (ref) => (await fetchManifest(ref)).descriptor,
    fetch: async (desc) => Readable.from([await run(s, blobFetchArgs({ ...s.remote, reference: `${repository}@${desc.digest}` }), { host })]),
    exists: unsupported('exists'),
    push: unsupported('push'),
    tag: unsupported('tag'),
    pushManifest: unsupported('pushManifest'),
  };
}

/** `registry/repository` and the tag or digest of a reference string. */
export function splitReference(reference: string): { repository: string; reference: string } {
  const ref = parseReference(reference);
  return { repository: `${ref.registry}/${ref.repository}`, reference: manifestReference(ref) };
}
