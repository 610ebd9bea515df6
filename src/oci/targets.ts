import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { nullLogger, type Logger } from '../log.js';
import type { Descriptor } from './descriptor.js';
import { openLayout } from './layout/store.js';
import type { Reference } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import type { FetchOptions, OpOptions, PushOptions, Target } from './target.js';

/** Opens the `Target` that serves a parsed reference's repository. */
export type TargetFactory = (ref: Pick<Reference, 'registry' | 'repository'>) => Promise<Target>;

export interface TargetFactoryOptions {
  client: RegistryClient;
  /** Picks the client for a registry host (e.g. one that skips TLS verification); default `client`. */
  clientFor?: (registry: string) => RegistryClient;
  /**
   * `registry.mirrors`: per upstream registry, mirrors tried first for reads, in order. A mirror is
   * another registry (`host[:port]`, `https://host`, `http://host`) or an OCI image layout root
   * (`oci:/dir`, one layout per repository at `/dir/<repository>`). Writes always go upstream.
   */
  mirrors?: Readonly<Record<string, readonly string[]>>;
  /** Client for mirrors spoken to over plain HTTP (`http://` mirrors); defaults to `client`. */
  plainHttpClient?: RegistryClient;
  logger?: Logger;
}

/**
 * Builds the factory every command uses to reach a repository, so install, pull and follow take
 * one code path whether the bytes come from a registry, a mirror or a local OCI layout.
 */
export function createTargetFactory(opts: TargetFactoryOptions): TargetFactory {
  const logger = opts.logger ?? nullLogger;
  return async (ref) => {
    const upstream = (opts.clientFor?.(ref.registry) ?? opts.client).repository({ registry: ref.registry, repository: ref.repository });
    const mirrors = opts.mirrors?.[ref.registry] ?? [];
    if (mirrors.length === 0) return upstream;
    const opened = await Promise.all(mirrors.map((m) => openMirror(m, ref.repository, opts)));
    return new MirroredTarget([...opened, upstream], logger);
  };
}

async function openMirror(mirror: string, repository: string, opts: TargetFactoryOptions): Promise<Target> {
  if (mirror.startsWith('oci:')) return openLayout(join(mirror.slice(4), repository), { create: false });
  const plain = mirror.startsWith('http://');
  const host = mirror.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const client = plain ? (opts.plainHttpClient ?? opts.client) : (opts.clientFor?.(host) ?? opts.client);
  return client.repository({ registry: host, repository });
}

/**
 * Reads from the first member that answers (mirrors first, upstream last); a failing mirror is
 * logged and the next one tried. Writes go to the last member (the upstream).
 */
export class MirroredTarget implements Target {
  readonly name: string;
  readonly location?: { registry: string; repository: string };

  constructor(readonly members: Target[], private readonly logger: Logger) {
    const up = members[members.length - 1]!;
    this.name = up.name;
    if (up.location) this.location = up.location;
  }

  private get upstream(): Target {
    return this.members[this.members.length - 1]!;
  }

  private async read<T>(what: string, op: (t: Target) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const [i, t] of this.members.entries()) {
      try {
        return await op(t);
      } catch (err) {
        last = err;
        if ((err as { code?: string }).code === 'ERR_ABORTED') throw err;
        if (i < this.members.length - 1) {
          this.logger.warn('Mirror failed, trying the next source', { mirror: t.name, operation: what, reason: (err as Error).message });
        }
      }
    }
    throw last;
  }

  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable> {
    return this.read(`fetch ${desc.digest}`, (t) => t.fetch(desc, opts));
  }
  exists(desc: Descriptor, opts?: OpOptions): Promise<boolean> {
    return this.read(`exists ${desc.digest}`, (t) => t.exists(desc, opts));
  }
  resolve(reference: string, opts?: OpOptions): Promise<Descriptor> {
    return this.read(`resolve ${reference}`, (t) => t.resolve(reference, opts));
  }
  fetchManifest(reference: string | Descriptor, opts?: OpOptions): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const what = typeof reference === 'string' ? reference : reference.digest;
    return this.read(`manifest ${what}`, (t) => t.fetchManifest(reference, opts));
  }
  async listTags(opts?: OpOptions): Promise<string[]> {
    return this.read('tags', async (t) => {
      if (!t.listTags) throw new Error(`${t.name} cannot list tags`);
      return t.listTags(opts);
    });
  }
  push(desc: Descriptor, body: Readable | Uint8Array, opts?: PushOptions): Promise<void> {
    return this.upstream.push(desc, body, opts);
  }
  tag(desc: Descriptor, reference: string, opts?: OpOptions): Promise<void> {
    return this.upstream.tag(desc, reference, opts);
  }
  pushManifest(desc: Descriptor, bytes: Uint8Array, reference?: string, opts?: OpOptions): Promise<void> {
    return this.upstream.pushManifest(desc, bytes, reference, opts);
  }
}
