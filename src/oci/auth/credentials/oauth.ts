import { readFile } from 'node:fs/promises';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import { writeFileAtomic } from '../../../util/atomic-write.js';
import { findByHost } from './registry-key.js';

/**
 * golang.org/x/oauth2/clientcredentials.Config as falcoctl stores it (no JSON tags, so Go field
 * names; spec §12). AuthStyle: 0 auto-detect, 1 in params, 2 in header.
 */
export interface ClientCredentialsConfig {
  ClientID: string;
  ClientSecret: string;
  TokenURL: string;
  Scopes: string[] | null;
  EndpointParams: Record<string, string[]> | null;
  AuthStyle: number;
}

/** `<home>/.config/falcoctl/clientcredentials.json`. */
export function defaultClientCredentialsPath(home: string): string {
  return `${home}/.config/falcoctl/clientcredentials.json`;
}

/** Reads the client-credentials file (`{registry: config}`); missing → `{}`. Errors never quote content. */
export async function readClientCredentials(path: string, opts: { signal?: AbortSignal } = {}): Promise<Record<string, ClientCredentialsConfig>> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `unable to read OAuth client credentials "${path}": ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `OAuth client credentials file "${path}" is not valid JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `OAuth client credentials file "${path}" is not a JSON object`);
  }
  return doc as Record<string, ClientCredentialsConfig>;
}

/** The stored config for `registry` (tolerant of `https://host` keys), if any. */
export function clientCredentialsFor(all: Record<string, ClientCredentialsConfig>, registry: string): ClientCredentialsConfig | undefined {
  return findByHost(all, registry)?.[1];
}

/**
 * Adds or replaces `registry` in the file: compact JSON, atomic, mode 0600. falcoctl does not
 * create the directory; rulesctl creates it 0700.
 */
export async function saveClientCredentials(path: string, registry: string, config: ClientCredentialsConfig, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const all = await readClientCredentials(path, opts);
  all[registry] = { ...config, Scopes: config.Scopes ?? null, EndpointParams: config.EndpointParams ?? null, AuthStyle: config.AuthStyle ?? 0 };
  await writeFileAtomic(path, JSON.stringify(all), { mode: 0o600, dirMode: 0o700, ...(opts.signal ? { signal: opts.signal } : {}) });
}
