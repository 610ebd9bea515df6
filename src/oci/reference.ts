import { ErrorCodes, RulesctlError } from '../errors.js';
import { parseDigest } from './descriptor.js';

/**
 * A parsed artifact reference `host[:port]/path[:tag][@digest]`.
 * `registry` is the host as users write it (`docker.io`, `127.0.0.1:5000`); use `apiHost()` for
 * the host that serves the API.
 */
export interface Reference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** distribution spec "Pull": repository name components. */
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** distribution spec "Pull": tag grammar. */
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** host, IPv4, `[IPv6]`, with an optional port. */
const REGISTRY_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME_LENGTH = 255;

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

function invalid(input: string, why: string): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_REFERENCE, `invalid reference "${input}": ${why}`, {
    hint: 'use the form <registry>/<repository>[:<tag>][@<digest>], e.g. ghcr.io/falcosecurity/rules/falco-rules:3',
    details: { reference: input },
  });
}

/**
 * Parses `host[:port]/path[:tag][@digest]` like oras-go `registry.ParseReference`: the part before
 * the first `/` is the registry (no dot needed), a reference without `/` is rejected (so callers can
 * try index names). Docker Hub is normalised: `index.docker.io` → `docker.io`, one-component
 * repositories get `library/`. Throws ERR_INVALID_REFERENCE quoting the input.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
 */
export function parseReference(input: string): Reference {
  const slash = input.indexOf('/');
  if (slash <= 0) throw invalid(input, 'missing registry host before the first "/"');
  let registry = input.slice(0, slash);
  let rest = input.slice(slash + 1);
  if (!REGISTRY_RE.test(registry)) throw invalid(input, `"${registry}" is not a valid registry host`);

  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch (err) {
      throw invalid(input, (err as Error).message);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(input, `"${tag}" is not a valid tag`);
  }
  let repository = rest;
  if (!REPOSITORY_RE.test(repository)) {
    throw invalid(input, `"${repository}" is not a valid repository name (lowercase letters, digits, separators)`);
  }
  if (DOCKER_HUB_ALIASES.has(registry.toLowerCase())) {
    registry = DOCKER_HUB;
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw invalid(input, `registry and repository exceed ${MAX_NAME_LENGTH} characters`);
  }
  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Canonical string `registry/repository[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Alias of formatReference, for messages. */
export function referenceString(ref: Reference): string {
  return formatReference(ref);
}

/** The manifest reference to request: the digest when present, else the tag, else `latest`. */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** True for a valid tag (distribution spec tag grammar). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** True for a valid repository name. */
export function isValidRepository(name: string): boolean {
  return REPOSITORY_RE.test(name);
}

/** The host serving the distribution API for `registry` (`docker.io` → `registry-1.docker.io`). */
export function apiHost(registry: string): string {
  return DOCKER_HUB_ALIASES.has(registry.toLowerCase()) ? 'registry-1.docker.io' : registry;
}
