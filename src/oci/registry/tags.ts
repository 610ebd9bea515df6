import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { OpOptions } from '../target.js';
import { readBody, send } from './request.js';
import { pullScope, repoPath, type RepoContext } from './repo-context.js';

const MAX_PAGES = 1000;
const PAGE_SIZE = 1000;

/**
 * All tags of a repository, following `Link: <…>; rel="next"` (RFC 8288). Registries that ignore
 * `n`/`last` (distribution 2.8) or repeat pages are tolerated: tags are de-duplicated and paging
 * stops when a page brings nothing new. Order is the registry's.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags
 */
export async function listTags(repo: RepoContext, opts: OpOptions = {}): Promise<string[]> {
  const seen = new Set<string>();
  let url: URL | undefined = new URL(repoPath(repo, `tags/list?n=${PAGE_SIZE}`), repo.client.baseUrl(repo.registry));
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const res = await send(repo.client, repo.registry, {
      method: 'GET', url, headers: { accept: 'application/json' }, scopes: pullScope(repo),
      action: `listing tags of ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const body = await readBody(res, 16 * 1024 * 1024, `tags of ${repo.name}`);
    const tags = parseTags(repo, body);
    const before = seen.size;
    for (const t of tags) seen.add(t);
    const next = nextLink(res.headers['link']);
    url = next && seen.size > before ? new URL(next, res.url) : undefined;
  }
  return [...seen];
}

function parseTags(repo: RepoContext, body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { tags?: unknown };
    if (parsed.tags === null || parsed.tags === undefined) return [];
    if (!Array.isArray(parsed.tags)) throw new Error('tags is not a list');
    return parsed.tags.filter((t): t is string => typeof t === 'string');
  } catch (err) {
    throw new RulesctlError(ErrorCodes.REGISTRY, `tag list of ${repo.name} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The `rel="next"` target of a `Link` header, or undefined. */
export function nextLink(header: string | string[] | undefined): string | undefined {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>(.*)$/.exec(part);
      if (m && /;\s*rel="?next"?/i.test(m[2]!)) return m[1];
    }
  }
  return undefined;
}
