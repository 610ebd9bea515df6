/**
 * One error base for the whole library. Callers test `err.code`, never `instanceof` across realms.
 * The CLI renders `message`, then `hint` as "what to do next" (src/cli/errors.ts).
 */
export const ErrorCodes = {
  USAGE: 'ERR_USAGE',
  INVALID_REFERENCE: 'ERR_INVALID_REFERENCE',
  INVALID_DIGEST: 'ERR_INVALID_DIGEST',
  DIGEST_MISMATCH: 'ERR_DIGEST_MISMATCH',
  SIZE_MISMATCH: 'ERR_SIZE_MISMATCH',
  NOT_FOUND: 'ERR_NOT_FOUND',
  UNAUTHORIZED: 'ERR_UNAUTHORIZED',
  DENIED: 'ERR_DENIED',
  REGISTRY: 'ERR_REGISTRY',
  NETWORK: 'ERR_NETWORK',
  TIMEOUT: 'ERR_TIMEOUT',
  TOO_MANY_REDIRECTS: 'ERR_TOO_MANY_REDIRECTS',
  PLAIN_HTTP_REFUSED: 'ERR_PLAIN_HTTP_REFUSED',
  UNSAFE_ARCHIVE: 'ERR_UNSAFE_ARCHIVE',
  INVALID_ARTIFACT: 'ERR_INVALID_ARTIFACT',
  INVALID_MANIFEST: 'ERR_INVALID_MANIFEST',
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  INVALID_RULES: 'ERR_INVALID_RULES',
  INVALID_INDEX: 'ERR_INVALID_INDEX',
  INDEX_FETCH: 'ERR_INDEX_FETCH',
  UNKNOWN_ARTIFACT: 'ERR_UNKNOWN_ARTIFACT',
  DEPENDENCY_CONFLICT: 'ERR_DEPENDENCY_CONFLICT',
  DEPENDENCY_CYCLE: 'ERR_DEPENDENCY_CYCLE',
  /** Two artifacts of one install would place the same path, or a file where the other has a directory. */
  PATH_CONFLICT: 'ERR_PATH_CONFLICT',
  REQUIREMENT_UNMET: 'ERR_REQUIREMENT_UNMET',
  TYPE_NOT_ALLOWED: 'ERR_TYPE_NOT_ALLOWED',
  PLATFORM_NOT_FOUND: 'ERR_PLATFORM_NOT_FOUND',
  LOCK_MISMATCH: 'ERR_LOCK_MISMATCH',
  CREDENTIALS: 'ERR_CREDENTIALS',
  ORAS: 'ERR_ORAS',
  SIGNATURE: 'ERR_SIGNATURE',
  IO: 'ERR_IO',
  ABORTED: 'ERR_ABORTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface RulesctlErrorOptions {
  /** What the user can do next; printed after the message. */
  hint?: string;
  cause?: unknown;
  /** Structured, secret-free context for `--output json` and tests. */
  details?: Record<string, unknown>;
}

export class RulesctlError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: RulesctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RulesctlError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

/** True for any error carrying one of our codes (works across module copies). */
export function isRulesctlError(err: unknown, code?: ErrorCode): err is RulesctlError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !c.startsWith('ERR_')) return false;
  return code === undefined || c === code;
}
