import { parseConfig, type ArtifactConfig } from '../artifact/config.js';
import { artifactTypeOfLayer, type ArtifactType } from '../artifact/media-types.js';
import { resolveManifest, type TargetPlatform } from '../artifact/resolve-manifest.js';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import type { MergedIndex } from '../index/merged.js';
import type { Descriptor } from '../oci/descriptor.js';
import { parseReference, type Reference } from '../oci/reference.js';
import type { Target } from '../oci/target.js';
import type { TargetFactory } from '../oci/targets.js';
import { cachedManifestFetcher, readConfigBytes } from './cached-reads.js';
import type { MetaStore } from './meta-cache.js';

/** An index given as data, or loaded on first use (full references never call the loader). */
export type IndexSource = MergedIndex | (() => Promise<MergedIndex>);

/** What install knows about one artifact once its manifest and config were read. */
export interface InspectedArtifact {
  /** `registry/repository:tag` or `registry/repository@digest` as asked. */
  ref: string;
  reference: Reference;
  /** `registry/repository`. */
  repository: string;
  target: Target;
  /** The root the reference resolved to (the image index, for plugins). */
  rootDigest: string;
  manifestDigest: string;
  /** `layers[0]`: the only layer falcoctl reads. */
  layer: Descriptor;
  type: ArtifactType;
  config: ArtifactConfig;
}

/**
 * Per-install caches: one Target per repository, one manifest+config read per reference, the
 * index loaded at most once and only when a name must be looked up (falcoctl#264). With a `meta`
 * store (src/install/meta-cache.ts), a tag costs one HEAD when its manifests and config are
 * already known by digest, and a digest reference costs nothing.
 */
export class InstallSession {
  private readonly targets = new Map<string, Promise<Target>>();
  private readonly inspected = new Map<string, Promise<InspectedArtifact>>();
  private readonly tags = new Map<string, Promise<string[]>>();
  private indexPromise: Promise<MergedIndex> | undefined;

  constructor(
    private readonly factory: TargetFactory,
    private readonly indexSource: IndexSource | undefined,
    private readonly platform: TargetPlatform,
    private readonly signal: AbortSignal | undefined,
    private readonly meta?: MetaStore,
  ) {}

  /** True once the index was needed (and loaded or attempted). */
  get indexLoaded(): boolean {
    return this.indexPromise !== undefined;
  }

  index(): Promise<MergedIndex> {
    if (this.indexPromise === undefined) {
      const src = this.indexSource;
      this.indexPromise = src === undefined
        ? Promise.reject(new RulesctlError(ErrorCodes.UNKNOWN_ARTIFACT, 'no index is configured', { hint: 'use a full reference, or add an index with "rulesctl index add"' }))
        : typeof src === 'function' ? src() : Promise.resolve(src);
    }
    return this.indexPromise;
  }

  target(ref: Pick<Reference, 'registry' | 'repository'>): Promise<Target> {
    const key = `${ref.registry}/${ref.repository}`;
    let t = this.targets.get(key);
    if (t === undefined) this.targets.set(key, (t = this.factory(ref)));
    return t;
  }

  /** Tags of `registry/repository` (cached). */
  listTags(repository: string): Promise<string[]> {
    let p = this.tags.get(repository);
    if (p === undefined) {
      const slash = repository.indexOf('/');
      const ref = { registry: repository.slice(0, slash), repository: repository.slice(slash + 1) };
      p = this.target(ref).then((t) => {
        if (t.listTags === undefined) throw new RulesctlError(ErrorCodes.REGISTRY, `${t.name} cannot list tags`);
        return t.listTags({ signal: this.signal });
      });
      this.tags.set(repository, p);
    }
    return p;
  }

  /** Reads the manifest for the platform and the config of a full reference (cached per ref). */
  inspect(ref: string): Promise<InspectedArtifact> {
    let p = this.inspected.get(ref);
    if (p === undefined) this.inspected.set(ref, (p = this.read(ref)));
    return p;
  }

  private async read(ref: string): Promise<InspectedArtifact> {
    const reference = parseReference(ref);
    const target = await this.target(reference);
    const at = reference.digest ?? reference.tag ?? 'latest';
    const io = this.signal ? { signal: this.signal } : {};
    let resolved;
    try {
      resolved = await resolveManifest(target, at, this.platform, { ...io, ...(this.meta ? { fetchManifest: cachedManifestFetcher(target, this.meta) } : {}) });
    } catch (err) {
      throw wrap(err, `unable to fetch config for "${ref}"`);
    }
    const layer = resolved.manifest.layers[0]!;
    const config = parseConfig(await readConfigBytes(target, resolved.manifest.config, this.meta, io), ref);
    return {
      ref, reference, repository: `${reference.registry}/${reference.repository}`, target,
      rootDigest: resolved.root.digest, manifestDigest: resolved.descriptor.digest,
      layer, type: artifactTypeOfLayer(layer.mediaType), config,
    };
  }
}

function wrap(err: unknown, what: string): unknown {
  if (!isRulesctlError(err) || err.code === ErrorCodes.ABORTED) return err;
  const e = err;
  return new RulesctlError(e.code, `${what}: ${e.message}`, { cause: err, hint: e.hint, details: e.details });
}
