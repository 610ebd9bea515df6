import type { ClientContext } from './request.js';
import { repositoryScope } from '../auth/token.js';

/** One repository of one registry, as seen by the resource modules. */
export interface RepoContext {
  client: ClientContext;
  registry: string;
  repository: string;
  /** `registry/repository`, for messages. */
  name: string;
}

/** `/v2/<name>/<rest>` */
export function repoPath(repo: RepoContext, rest: string): string {
  return `/v2/${repo.repository}/${rest}`;
}

export function pullScope(repo: RepoContext): string[] {
  return [repositoryScope(repo.repository, 'pull')];
}

export function pushScope(repo: RepoContext): string[] {
  return [repositoryScope(repo.repository, 'pull', 'push')];
}

export function deleteScope(repo: RepoContext): string[] {
  return [repositoryScope(repo.repository, 'delete')];
}
