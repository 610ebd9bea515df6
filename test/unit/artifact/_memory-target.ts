import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../../../src/errors.js';
import { digestOf, type Descriptor } from '../../../src/oci/descriptor.js';
import type { Target } from '../../../src/oci/target.js';

/** A tiny in-test Target (the shared MemoryStore may not exist yet). Records every call. */
export class TestTarget implements Target {
  readonly name = 'memory:test';
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { desc: Descriptor; bytes: Buffer }>();
  readonly tags = new Map<string, string>();
  readonly calls: string[] = [];

  async fetch(desc: Descriptor): Promise<Readable> {
    const bytes = this.blobs.get(desc.digest) ?? this.manifests.get(desc.digest)?.bytes;
    if (!bytes) throw new RulesctlError(ErrorCodes.NOT_FOUND, `${desc.digest}: not found`);
    return Readable.from([bytes]).pipe(verifier(desc));
  }
  async exists(desc: Descriptor): Promise<boolean> {
    return this.blobs.has(desc.digest) || this.manifests.has(desc.digest);
  }
  async push(desc: Descriptor, body: Readable | Uint8Array): Promise<void> {
    const bytes = body instanceof Uint8Array ? Buffer.from(body) : Buffer.concat(await body.toArray());
    if (digestOf(bytes) !== desc.digest || bytes.length !== desc.size) throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, 'bad push');
    this.calls.push(`push ${desc.mediaType} ${desc.digest}`);
    this.blobs.set(desc.digest, bytes);
  }
  async resolve(reference: string): Promise<Descriptor> {
    const digest = reference.startsWith('sha256:') ? reference : this.tags.get(reference);
    const m = digest ? this.manifests.get(digest) : undefined;
    if (!m) throw new RulesctlError(ErrorCodes.NOT_FOUND, `${reference}: not found`);
    return { mediaType: m.desc.mediaType, digest: m.desc.digest, size: m.desc.size };
  }
  async tag(desc: Descriptor, reference: string): Promise<void> {
    this.calls.push(`tag ${reference}`);
    this.tags.set(reference, desc.digest);
  }
  async fetchManifest(reference: string | Descriptor): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const desc = typeof reference === 'string' ? await this.resolve(reference) : reference;
    const m = this.manifests.get(desc.digest);
    if (!m) throw new RulesctlError(ErrorCodes.NOT_FOUND, `${desc.digest}: not found`);
    return { descriptor: { mediaType: m.desc.mediaType, digest: m.desc.digest, size: m.desc.size }, bytes: m.bytes };
  }
  async pushManifest(desc: Descriptor, bytes: Uint8Array, reference?: string): Promise<void> {
    if (digestOf(bytes) !== desc.digest) throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, 'bad manifest');
    this.calls.push(`manifest ${desc.mediaType} ${reference ?? desc.digest}`);
    this.manifests.set(desc.digest, { desc, bytes: Buffer.from(bytes) });
    if (reference && !reference.startsWith('sha256:')) this.tags.set(reference, desc.digest);
  }
}

function verifier(desc: Descriptor): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const d = `sha256:${hash.digest('hex')}`;
      if (d !== desc.digest || size !== desc.size) cb(new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `digest mismatch for ${desc.digest}`));
      else cb();
    },
  });
}
