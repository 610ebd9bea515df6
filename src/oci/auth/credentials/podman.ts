import type { Credential } from '../types.js';
import { lookupAuths, readDockerConfig } from './docker-config.js';
import type { Env } from './store.js';

/**
 * podman/containers auth.json locations, in lookup order (containers-auth.json(5)):
 * `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`.
 * (podman's last fallback, docker's config.json, is a separate layer of the credential source.)
 */
export function podmanAuthPaths(env: Env, home: string): string[] {
  const out: string[] = [];
  if (env.REGISTRY_AUTH_FILE) out.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) out.push(`${env.XDG_RUNTIME_DIR.replace(/\/+$/, '')}/containers/auth.json`);
  const configHome = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME.replace(/\/+$/, '') : `${home}/.config`;
  out.push(`${configHome}/containers/auth.json`);
  return [...new Set(out)];
}

/**
 * Looks `registry` up in the first auth.json (in `paths` order) that has it. auth.json has
 * docker's `auths` shape; Docker Hub is keyed `docker.io` there, matched like any alias.
 * Namespaced keys (`quay.io/org`) are not used for a whole-registry lookup.
 */
export async function lookupPodman(paths: readonly string[], registry: string, opts: { signal?: AbortSignal } = {}): Promise<Credential | undefined> {
  for (const path of paths) {
    const cred = lookupAuths(await readDockerConfig(path, opts), registry, path);
    if (cred !== undefined) return cred;
  }
  return undefined;
}
