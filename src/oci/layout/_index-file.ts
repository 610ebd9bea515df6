import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { Annotations, type Descriptor, type ImageIndex } from '../descriptor.js';
import { MediaTypes } from '../media-types.js';
import { placeBytes, wrapIo } from './_files.js';

/** index.json as read: unknown fields are kept and written back untouched. */
export type LayoutIndex = ImageIndex & Record<string, unknown>;

export function emptyIndex(): LayoutIndex {
  return { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] };
}

/** Reads and checks `<dir>/index.json` (image-spec image-layout.md#indexjson-file). */
export async function readIndex(dir: string): Promise<LayoutIndex> {
  const path = join(dir, 'index.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw wrapIo(err, `reading ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(path, 'it is not JSON', err);
  }
  const idx = parsed as Partial<LayoutIndex> | null;
  if (typeof idx !== 'object' || idx === null || idx.schemaVersion !== 2 || !Array.isArray(idx.manifests)) {
    throw invalid(path, 'expected an image index with schemaVersion 2 and a "manifests" array');
  }
  for (const d of idx.manifests) {
    if (typeof d !== 'object' || d === null || typeof d.digest !== 'string' || typeof d.size !== 'number') {
      throw invalid(path, 'a "manifests" entry lacks a digest or size');
    }
  }
  return idx as LayoutIndex;
}

function invalid(path: string, why: string, cause?: unknown): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_MANIFEST, `invalid OCI layout index "${path}": ${why}`, {
    cause,
    hint: 'repair or remove index.json; the blobs under blobs/ are not affected',
  });
}

export function refNameOf(d: Descriptor): string | undefined {
  return d.annotations?.[Annotations.refName];
}

/** `desc` without the ref.name annotation (what resolve returns). */
export function withoutRefName(d: Descriptor): Descriptor {
  if (!d.annotations || !(Annotations.refName in d.annotations)) return { ...d };
  const { [Annotations.refName]: _drop, ...rest } = d.annotations;
  const out: Descriptor = { ...d, annotations: rest };
  if (Object.keys(rest).length === 0) delete out.annotations;
  return out;
}

/**
 * Points `tag` at `desc`: the entry previously carrying that ref.name is replaced, and an untagged
 * entry for the same digest is dropped (it is now reachable through the tag).
 */
export function setTag(idx: LayoutIndex, desc: Descriptor, tag: string): LayoutIndex {
  const entry: Descriptor = { ...withoutRefName(desc), annotations: { ...withoutRefName(desc).annotations, [Annotations.refName]: tag } };
  const kept = idx.manifests.filter((d) => refNameOf(d) !== tag && !(refNameOf(d) === undefined && d.digest === desc.digest));
  return { ...idx, manifests: [...kept, entry] };
}

/** Records a manifest pushed without a tag so the layout references it (as oras-go does). */
export function addUntagged(idx: LayoutIndex, desc: Descriptor): LayoutIndex {
  if (idx.manifests.some((d) => d.digest === desc.digest)) return idx;
  return { ...idx, manifests: [...idx.manifests, withoutRefName(desc)] };
}

const chains = new Map<string, Promise<unknown>>();

/**
 * Read-modify-write of index.json, serialized per layout directory within this process, written
 * atomically (temp + fsync + rename) so readers never see a partial file.
 */
export function updateIndex(dir: string, mutate: (idx: LayoutIndex) => LayoutIndex, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const prev = chains.get(dir) ?? Promise.resolve();
  const next = prev.then(async () => {
    opts.signal?.throwIfAborted();
    const updated = mutate(await readIndex(dir));
    await placeBytes(join(dir, 'index.json'), Buffer.from(JSON.stringify(updated)));
  });
  const settled = next.catch(() => undefined);
  chains.set(dir, settled);
  void settled.then(() => {
    if (chains.get(dir) === settled) chains.delete(dir);
  });
  return next;
}
