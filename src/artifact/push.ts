import { createReadStream } from 'node:fs';
import { isDigest, type Descriptor } from '../oci/descriptor.js';
import type { Target } from '../oci/target.js';
import type { BuiltArtifact } from './build.js';
import { planTags } from './tags.js';

export type PushedKind = 'config' | 'layer' | 'manifest' | 'index';

/** Progress of a push: `exists` means the blob was already there and was skipped. */
export interface PushEvent {
  phase: 'exists' | 'start' | 'bytes' | 'done';
  kind: PushedKind;
  descriptor: Descriptor;
  /** Bytes sent so far (phase `bytes`). */
  bytes?: number;
}

export interface PushArtifactOptions {
  /** The user's `-t/--tag` values (already followed by floating tags when asked). */
  tags?: readonly string[];
  /** The tag or digest written in the target reference, if any. */
  reference?: string;
  signal?: AbortSignal;
  onProgress?: (e: PushEvent) => void;
}

export interface PushArtifactResult {
  rootDigest: string;
  /** Per-platform manifest digests, in input order. */
  manifestDigests: string[];
  /** Every tag pointing at the root afterwards, in the order applied (a digest reference is not a tag). */
  tags: string[];
}

/**
 * Pushes a built artifact in falcoctl's order (falcoctl.md §1 "Push sequence", §5): per manifest the
 * config, the layer (streamed from disk) and the manifest by digest, each skipped when the target
 * already has it; then the root (the manifest, or the plugin index) under the first tag; then the
 * other tags. Errors from the target propagate unchanged.
 */
export async function pushArtifact(target: Target, built: BuiltArtifact, opts: PushArtifactOptions = {}): Promise<PushArtifactResult> {
  const { signal, onProgress } = opts;
  for (const m of built.manifests) {
    await pushBlob(target, 'config', built.config.descriptor, () => built.config.bytes, opts);
    await pushBlob(target, 'layer', m.layerDescriptor, () => createReadStream(m.layer.path, { highWaterMark: 1 << 20 }), opts);
    if (await target.exists(m.descriptor, { signal })) onProgress?.({ phase: 'exists', kind: 'manifest', descriptor: m.descriptor });
    else {
      onProgress?.({ phase: 'start', kind: 'manifest', descriptor: m.descriptor });
      await target.pushManifest(m.descriptor, m.bytes, undefined, { signal });
      onProgress?.({ phase: 'done', kind: 'manifest', descriptor: m.descriptor });
    }
  }
  const plan = planTags(opts.reference, opts.tags ?? []);
  const rootKind: PushedKind = built.type === 'plugin' ? 'index' : 'manifest';
  onProgress?.({ phase: 'start', kind: rootKind, descriptor: built.root.descriptor });
  await target.pushManifest(built.root.descriptor, built.root.bytes, plan.first, { signal });
  onProgress?.({ phase: 'done', kind: rootKind, descriptor: built.root.descriptor });
  for (const tag of plan.then) await target.tag(built.root.descriptor, tag, { signal });
  const tags = [plan.first, ...plan.then.filter((t) => t !== plan.first)].filter((t) => !isDigest(t));
  return { rootDigest: built.root.descriptor.digest, manifestDigests: built.manifests.map((m) => m.descriptor.digest), tags };
}

async function pushBlob(
  target: Target,
  kind: PushedKind,
  desc: Descriptor,
  body: () => NodeJS.ReadableStream | Buffer,
  opts: PushArtifactOptions,
): Promise<void> {
  const { signal, onProgress } = opts;
  if (await target.exists(desc, { signal })) {
    onProgress?.({ phase: 'exists', kind, descriptor: desc });
    return;
  }
  onProgress?.({ phase: 'start', kind, descriptor: desc });
  await target.push(desc, body() as Parameters<Target['push']>[1], {
    signal,
    onProgress: (bytes) => onProgress?.({ phase: 'bytes', kind, descriptor: desc, bytes }),
  });
  onProgress?.({ phase: 'done', kind, descriptor: desc });
}
