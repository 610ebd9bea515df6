import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { digestOf, isDigest, parseDigest, type Descriptor } from '../descriptor.js';
import { isManifestMediaType } from '../media-types.js';
import type { FetchOptions, OpOptions, PushOptions, Target } from '../target.js';
import { placeBytes, placeStream, wrapIo } from './_files.js';
import { addUntagged, emptyIndex, readIndex, refNameOf, setTag, updateIndex, withoutRefName } from './_index-file.js';
import { fileSize, manifestMediaType, MAX_MANIFEST_BYTES, openVerified, readAll } from './_read.js';
import { createVerifier } from '../verify.js';

const LAYOUT_VERSION = '1.0.0';
// Docker tag grammar, or the image-layout ref.name grammar (components joined by "/").
const DOCKER_TAG = /^[\w][\w.-]{0,127}$/;
const COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const LAYOUT_REF = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

export interface OpenLayoutOptions extends OpOptions {
  /** Create the directory, `oci-layout` and an empty `index.json` when missing. Default false. */
  create?: boolean;
}

/**
 * A `Target` over an OCI image layout directory (spec/registries.md §4.6;
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md). Blobs land by temp file + fsync + rename after streaming verification; index.json is
 * replaced atomically and its updates are serialized within the process; every read is verified.
 */
export class OciLayoutStore implements Target {
  readonly name: string;

  constructor(readonly root: string, displayDir: string = root) {
    this.name = `oci:${displayDir}`;
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    return openVerified(this.blobPath(desc.digest), desc, this.name, opts);
  }

  async exists(desc: Descriptor, opts: OpOptions = {}): Promise<boolean> {
    opts.signal?.throwIfAborted();
    return (await fileSize(this.blobPath(desc.digest))) === desc.size;
  }

  /**
   * Consumes `body` fully; an existing blob is kept (the body is still read and verified). A
   * manifest pushed this way is recorded untagged in index.json, as pushManifest without a tag.
   */
  async push(desc: Descriptor, body: Readable | Uint8Array, opts: PushOptions = {}): Promise<void> {
    await this.writeBlob(desc, body, opts);
    if (isManifestMediaType(desc.mediaType)) await updateIndex(this.root, (idx) => addUntagged(idx, desc), opts);
  }

  private async writeBlob(desc: Descriptor, body: Readable | Uint8Array, opts: PushOptions): Promise<void> {
    const path = this.blobPath(desc.digest);
    const source = body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : body;
    if (await this.exists(desc, opts)) {
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      await pipeline([source, createVerifier(desc, { source: this.name }), sink], { signal: opts.signal });
      return;
    }
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      source.destroy();
      throw wrapIo(err, `creating ${dirname(path)}`);
    }
    await placeStream(path, source, [createVerifier(desc, { source: this.name })], opts);
  }

  async resolve(reference: string, opts: OpOptions = {}): Promise<Descriptor> {
    opts.signal?.throwIfAborted();
    const idx = await readIndex(this.root);
    if (isDigest(reference)) {
      const entry = idx.manifests.find((d) => d.digest === reference);
      if (entry) return withoutRefName(entry);
      return this.resolveBlob(reference, opts);
    }
    const entry = idx.manifests.findLast((d) => refNameOf(d) === reference);
    if (!entry) throw this.notFound(reference);
    return withoutRefName(entry);
  }

  async tag(desc: Descriptor, reference: string, opts: OpOptions = {}): Promise<void> {
    checkTag(reference);
    if (!(await this.exists(desc, opts))) throw this.notFound(desc.digest);
    await updateIndex(this.root, (idx) => setTag(idx, desc, reference), opts);
  }

  async fetchManifest(reference: string | Descriptor, opts: OpOptions = {}): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const descriptor = typeof reference === 'string' ? await this.resolve(reference, opts) : reference;
    if (descriptor.size > MAX_MANIFEST_BYTES) {
      throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `manifest ${descriptor.digest} in ${this.name} is ${descriptor.size} bytes, above ${MAX_MANIFEST_BYTES}`);
    }
    const bytes = await readAll(await this.fetch(descriptor, opts), MAX_MANIFEST_BYTES);
    return { descriptor, bytes };
  }

  /** Stores the manifest blob, then tags it (`reference` a tag) or records it untagged in index.json. */
  async pushManifest(desc: Descriptor, bytes: Uint8Array, reference?: string, opts: OpOptions = {}): Promise<void> {
    if (reference !== undefined && !isDigest(reference)) checkTag(reference);
    const actual = digestOf(bytes, parseDigest(desc.digest).algorithm);
    if (actual !== desc.digest || bytes.byteLength !== desc.size) {
      throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `manifest bytes (${actual}, ${bytes.byteLength} bytes) do not match ${desc.digest} (${desc.size} bytes)`, {
        details: { expected: desc.digest, actual },
      });
    }
    await this.writeBlob(desc, bytes, opts);
    if (reference !== undefined && !isDigest(reference)) {
      await updateIndex(this.root, (idx) => setTag(idx, desc, reference), opts);
    } else {
      await updateIndex(this.root, (idx) => addUntagged(idx, desc), opts);
    }
  }

  /** Every ref.name in index.json, sorted, without duplicates. */
  async listTags(opts: OpOptions = {}): Promise<string[]> {
    opts.signal?.throwIfAborted();
    const idx = await readIndex(this.root);
    const tags = new Set(idx.manifests.map(refNameOf).filter((t): t is string => t !== undefined));
    return [...tags].sort();
  }

  private async resolveBlob(digest: string, opts: OpOptions): Promise<Descriptor> {
    const size = await fileSize(this.blobPath(digest));
    if (size === undefined) throw this.notFound(digest);
    const probe: Descriptor = { mediaType: 'application/octet-stream', digest, size };
    const { bytes } = await this.fetchManifest(probe, opts);
    return { mediaType: manifestMediaType(bytes, digest), digest, size };
  }

  private notFound(reference: string): RulesctlError {
    return new RulesctlError(ErrorCodes.NOT_FOUND, `"${reference}": not found in ${this.name}`, {
      hint: 'list the tags of the layout, or copy the artifact into it first',
      details: { reference },
    });
  }
}

function checkTag(reference: string): void {
  if (isDigest(reference) || !(DOCKER_TAG.test(reference) || LAYOUT_REF.test(reference))) {
    throw new RulesctlError(ErrorCodes.INVALID_REFERENCE, `invalid tag "${reference}" for an OCI layout`, {
      hint: 'use a tag like "latest" or "1.2.3"',
    });
  }
}

/**
 * Opens (or with `create` initializes) an OCI image layout at `dir`. Checks `oci-layout` says
 * `{"imageLayoutVersion":"1.0.0"}` and index.json is an image index; extra files are ignored.
 * Errors: ERR_NOT_FOUND (no layout and not `create`), ERR_INVALID_MANIFEST, ERR_IO.
 */
export async function openLayout(dir: string, opts: OpenLayoutOptions = {}): Promise<OciLayoutStore> {
  opts.signal?.throwIfAborted();
  const root = resolvePath(dir);
  const layoutFile = join(root, 'oci-layout');
  const present = (await fileSize(layoutFile)) !== undefined;
  if (!present && !opts.create) {
    throw new RulesctlError(ErrorCodes.NOT_FOUND, `"${dir}" is not an OCI image layout (no oci-layout file)`, {
      hint: 'check the path, or create the layout by copying an artifact into it',
    });
  }
  try {
    await mkdir(join(root, 'blobs'), { recursive: true });
  } catch (err) {
    throw wrapIo(err, `creating ${join(root, 'blobs')}`);
  }
  if (present) await checkLayoutFile(layoutFile);
  else await placeBytes(layoutFile, Buffer.from(JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION })));
  if ((await fileSize(join(root, 'index.json'))) === undefined) {
    if (!opts.create) {
      throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `OCI layout "${dir}" has no index.json`);
    }
    await placeBytes(join(root, 'index.json'), Buffer.from(JSON.stringify(emptyIndex())));
  } else {
    await readIndex(root);
  }
  return new OciLayoutStore(root, dir);
}

async function checkLayoutFile(path: string): Promise<void> {
  let version: unknown;
  try {
    version = (JSON.parse(await readFile(path, 'utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (err) {
    throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `${path} is not valid JSON`, { cause: err });
  }
  if (version !== LAYOUT_VERSION) {
    throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `${path}: unsupported imageLayoutVersion ${JSON.stringify(version)}`, {
      hint: `only "${LAYOUT_VERSION}" layouts are supported`,
    });
  }
}
