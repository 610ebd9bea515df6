import { join } from 'node:path';
import type { TrustedRootSource } from './trusted-root.js';

/**
 * cosign's trusted root for a process with environment `env` and home `home` (spec §14):
 * `SIGSTORE_ROOT_FILE`, else the Sigstore TUF cache under `TUF_ROOT` or `<home>/.sigstore/root`.
 * What install and follow verify keyless (and Rekor-checked key) signatures against.
 */
export function defaultTrustedRoot(env: Record<string, string | undefined>, home: string): TrustedRootSource {
  const file = env.SIGSTORE_ROOT_FILE;
  if (file) return { file };
  return { tuf: { cachePath: env.TUF_ROOT || join(home, '.sigstore', 'root') } };
}
