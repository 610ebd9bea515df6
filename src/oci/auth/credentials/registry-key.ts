/**
 * Registry host keys as docker config.json, credential helpers and podman auth.json spell them
 * (spec §12; oras-go registry/remote/credentials/registry.go `ServerAddressFromRegistry`).
 */

/** The key docker and oras write for Docker Hub. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The comparable form of a key or host: scheme and path dropped, lower-cased, Docker Hub's
 * aliases (`registry-1.docker.io`, `index.docker.io`, `https://index.docker.io/v1/`) as `docker.io`.
 * A podman `registry/namespace` key yields its registry.
 */
export function hostKey(keyOrHost: string): string {
  let s = keyOrHost.trim().toLowerCase();
  const scheme = s.indexOf('://');
  if (scheme >= 0) s = s.slice(scheme + 3);
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  return DOCKER_HUB_ALIASES.has(s) ? 'docker.io' : s;
}

/** The key a login writes: the host as typed, except Docker Hub's `https://index.docker.io/v1/`. */
export function storageKey(registry: string): string {
  return hostKey(registry) === 'docker.io' ? DOCKER_HUB_KEY : registry;
}

/** Finds the entry for `registry` in a map keyed docker-style: exact key first, then by host. */
export function findByHost<T>(map: Readonly<Record<string, T>> | undefined, registry: string): [string, T] | undefined {
  if (map === undefined) return undefined;
  for (const k of [storageKey(registry), registry]) {
    const v = map[k];
    if (v !== undefined) return [k, v];
  }
  const want = hostKey(registry);
  // Podman keys may carry a namespace (`quay.io/org`); only whole-registry keys match a host.
  return Object.entries(map).find(([k]) => hostKey(k) === want && !hasNamespace(k));
}

/** True for podman-style `registry/namespace` keys (not `https://host/v1/`). */
export function hasNamespace(key: string): boolean {
  const s = key.includes('://') ? key.slice(key.indexOf('://') + 3) : key;
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const rest = s.slice(slash + 1);
  return rest !== '' && !/^v[12]\/?$/.test(rest);
}
