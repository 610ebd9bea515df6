import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { fetchConfig, layerTitle, type PullOptions, type PullResult } from '../../artifact/pull.js';
import { extractToStaging, moveStagedInto } from '../../artifact/extract.js';
import { hashFile } from '../../artifact/pack.js';
import { resolveManifest } from '../../artifact/resolve-manifest.js';
import { artifactTypeOfLayer, checkAllowedType } from '../../artifact/media-types.js';
import { pullArgs } from './args.js';
import { orasReadTarget, splitReference, type OrasSession } from './backend.js';
import { runOras } from './run.js';

/**
 * `registry pull` through oras, with the native path's result and guarantees: rulesctl resolves the
 * reference and selects the platform (`oras manifest fetch`), reads the config (`oras blob fetch`),
 * then `oras pull <repo>@<manifest digest>` writes the layer into a staging directory inside
 * `destDir`; the file is hashed against its descriptor before it is renamed to `<destDir>/<title>`
 * or extracted with the safe extractor. The staging directory is always removed.
 */
export async function orasPullArtifact(s: OrasSession, reference: string, opts: PullOptions): Promise<PullResult> {
  const { repository, reference: tagOrDigest } = splitReference(reference);
  const target = orasReadTarget(s, repository);
  const signal = opts.signal;
  const resolved = await resolveManifest(target, tagOrDigest, opts.platform, signal ? { signal } : {});
  const layer = resolved.manifest.layers[0]!;
  checkAllowedType(layer.mediaType, opts.allowedTypes);
  const type = artifactTypeOfLayer(layer.mediaType);
  const title = layerTitle(layer);
  const { config } = await fetchConfig(target, resolved.descriptor.digest, opts.platform, signal ? { signal } : {});
  const staging = await mkdtemp(join(opts.destDir, '.rulesctl-oras-'));
  try {
    const host = repository.slice(0, repository.indexOf('/'));
    await runOras(s.runner, pullArgs({ ...s.remote, reference: `${repository}@${resolved.descriptor.digest}`, outputDir: staging }), {
      host, ...(s.remote.credential && s.secret !== undefined ? { input: s.secret } : {}), ...(signal ? { signal } : {}), ...(s.logger ? { logger: s.logger } : {}),
    });
    const file = join(staging, title);
    const got = await hashFile(file, signal ? { signal } : {}).catch((err: unknown) => {
      throw new RulesctlError(ErrorCodes.ORAS, `oras pull did not write "${title}" for "${reference}"`, { cause: err, hint: 'use --backend native' });
    });
    if (got.size !== layer.size || got.digest !== layer.digest) {
      throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `blob ${layer.digest}: content has digest ${got.digest} (${got.size} bytes)`, {
        hint: 'the registry served corrupted content: push the artifact again',
      });
    }
    let files: PullResult['files'];
    if (opts.extract) {
      const staged = await extractToStaging(file, opts.destDir, { ...opts.extractOptions, ...(signal ? { signal } : {}) });
      const placed = await moveStagedInto(staged, signal ? { signal } : {});
      files = staged.files.map((f, i) => ({ path: placed[i]!, size: f.size, digest: f.digest }));
    } else {
      const path = join(opts.destDir, title);
      await rename(file, path);
      files = [{ path, size: layer.size, digest: layer.digest }];
    }
    return { reference, rootDigest: resolved.root.digest, manifestDigest: resolved.descriptor.digest, type, config, files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
