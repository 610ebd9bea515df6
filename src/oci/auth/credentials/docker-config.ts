import { readFile } from 'node:fs/promises';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { Credential } from '../types.js';
import { findByHost } from './registry-key.js';

/** One `auths` entry of docker config.json / podman auth.json. */
export interface DockerAuthEntry {
  /** base64("user:password") */
  auth?: string;
  username?: string;
  password?: string;
  /** OAuth2 refresh token, exchanged at the token realm. */
  identitytoken?: string;
  /** Bearer token sent as-is. */
  registrytoken?: string;
  [other: string]: unknown;
}

/** docker config.json; keys rulesctl does not use are kept on rewrite. */
export interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a docker-format credential file. Missing → undefined. Malformed → `ERR_CREDENTIALS`
 * naming the file only (never its content).
 */
export async function readDockerConfig(path: string, opts: { signal?: AbortSignal } = {}): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `unable to read credential file "${path}": ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `credential file "${path}" is not valid JSON`, { hint: 'fix or remove the file, then log in again' });
  }
  const bad = !isMapping(doc) || (doc.auths !== undefined && !isMapping(doc.auths)) || (doc.credHelpers !== undefined && !isMapping(doc.credHelpers));
  if (bad) throw new RulesctlError(ErrorCodes.CREDENTIALS, `credential file "${path}" does not have the docker config.json shape`);
  return doc as DockerConfig;
}

/** The credential helper for `registry`: `credHelpers[R]`, else `credsStore`. */
export function helperFor(config: DockerConfig, registry: string): string | undefined {
  const specific = findByHost(config.credHelpers, registry)?.[1];
  if (typeof specific === 'string' && specific !== '') return specific;
  return typeof config.credsStore === 'string' && config.credsStore !== '' ? config.credsStore : undefined;
}

/**
 * The credential an `auths` entry holds: `registrytoken` (bearer), else `identitytoken`, else
 * `auth` (base64 user:pass) or `username`/`password`. Empty → undefined.
 */
export function credentialFromEntry(entry: DockerAuthEntry, where: string): Credential | undefined {
  if (typeof entry.registrytoken === 'string' && entry.registrytoken !== '') return { kind: 'bearer', token: entry.registrytoken };
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') return { kind: 'identity-token', token: entry.identitytoken };
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new RulesctlError(ErrorCodes.CREDENTIALS, `invalid "auth" value for ${where}: expected base64 of "user:password"`);
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && entry.username !== '') {
    return { kind: 'basic', username: entry.username, password: typeof entry.password === 'string' ? entry.password : '' };
  }
  return undefined;
}

/** Looks `registry` up in `auths` (tolerant of `https://host` keys and Docker Hub aliases). */
export function lookupAuths(config: DockerConfig | undefined, registry: string, path: string): Credential | undefined {
  const hit = findByHost(config?.auths, registry);
  if (hit === undefined || !isMapping(hit[1])) return undefined;
  return credentialFromEntry(hit[1], `"${hit[0]}" in "${path}"`);
}

/** The `auths` entry a login writes (oras-go `newAuthConfig`). */
export function entryFor(cred: Credential): DockerAuthEntry {
  if (cred.kind === 'basic') return { auth: Buffer.from(`${cred.username}:${cred.password}`, 'utf8').toString('base64') };
  if (cred.kind === 'identity-token') return { identitytoken: cred.token };
  return { registrytoken: cred.token };
}
