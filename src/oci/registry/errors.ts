import type { Dispatcher } from 'undici';
import { ErrorCodes, RulesctlError, type ErrorCode } from '../../errors.js';
import { redact, redactUrl } from '../auth/redact.js';

/** One entry of a distribution error body `{"errors":[{code,message,detail}]}`. */
export interface OciError {
  code: string;
  message?: string;
  detail?: unknown;
}

export interface RegistryErrorDetails {
  method: string;
  /** Redacted. */
  url: string;
  status: number;
  ociErrors: OciError[];
  [key: string]: unknown;
}

/**
 * A registry answered with an unexpected status. `details` carry method, redacted URL, status and
 * the OCI error codes of the body (spec "Error Codes"; registries.md §4.5).
 */
export class RegistryError extends RulesctlError {
  declare readonly details: RegistryErrorDetails;
  constructor(code: ErrorCode, message: string, details: RegistryErrorDetails, hint?: string) {
    super(code, message, hint === undefined ? { details } : { details, hint });
    this.name = 'RegistryError';
  }
}

const MAX_ERROR_BODY = 64 * 1024;

/** Reads at most 64 KiB of an error body and discards the rest. Never throws. */
export async function readErrorBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (size < MAX_ERROR_BODY) chunks.push(chunk);
      size += chunk.length;
    }
  } catch {
    // a broken error body is still an error response
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
}

/** Parses a distribution error body; tolerates HTML, plain text and empty bodies. */
export function parseOciErrors(text: string): OciError[] {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
      .map((e) => ({ code: String(e['code']), message: typeof e['message'] === 'string' ? e['message'] : undefined, detail: e['detail'] }));
  } catch {
    return [];
  }
}

export interface ErrorContext {
  method: string;
  url: URL | string;
  status: number;
  body: string;
  /** What was being done, e.g. `fetching manifest "1.0.0" of 127.0.0.1:5000/falco/rules`. */
  action?: string;
  registry?: string;
}

/** Builds the RegistryError for a failed response (code, message, hint by status and OCI code). */
export function registryError(ctx: ErrorContext): RegistryError {
  const ociErrors = parseOciErrors(ctx.body);
  const codes = new Set(ociErrors.map((e) => e.code.toUpperCase()));
  const url = redactUrl(ctx.url);
  const summary = ociErrors.length
    ? ociErrors.map((e) => `${e.code}${e.message ? `: ${e.message}` : ''}`).join('; ')
    : redact(ctx.body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200));
  const what = ctx.action ?? `${ctx.method} ${url}`;
  const message = `${what}: ${ctx.status}${summary ? ` ${summary}` : ''}`;
  const details: RegistryErrorDetails = { method: ctx.method, url, status: ctx.status, ociErrors };
  const [code, hint] = classify(ctx.status, codes, ctx.registry);
  return new RegistryError(code, message, details, hint);
}

function classify(status: number, codes: Set<string>, registry = '<registry>'): [ErrorCode, string | undefined] {
  if (status === 401 || codes.has('UNAUTHORIZED')) {
    return [ErrorCodes.UNAUTHORIZED, `log in with "rulesctl registry auth basic ${registry}" (or check the stored credentials)`];
  }
  if (status === 429 || codes.has('TOOMANYREQUESTS')) {
    return [ErrorCodes.REGISTRY, 'the registry is rate limiting (TOOMANYREQUESTS): wait and retry, poll less often, or pull authenticated'];
  }
  if (status === 403 || codes.has('DENIED')) {
    return [ErrorCodes.DENIED, 'the credentials lack permission for this repository (DENIED): check the account\'s access or token scopes'];
  }
  if (codes.has('NAME_UNKNOWN')) return [ErrorCodes.NOT_FOUND, 'check the repository name; some registries (ECR) need the repository created first'];
  if (codes.has('MANIFEST_UNKNOWN')) return [ErrorCodes.NOT_FOUND, 'check the tag or digest (list tags with "rulesctl registry tags")'];
  if (codes.has('BLOB_UNKNOWN') || status === 404) return [ErrorCodes.NOT_FOUND, undefined];
  if (codes.has('MANIFEST_BLOB_UNKNOWN')) return [ErrorCodes.REGISTRY, 'push the config and layers before the manifest'];
  if (codes.has('MANIFEST_INVALID') || codes.has('UNSUPPORTED')) {
    return [ErrorCodes.REGISTRY, 'the registry rejected the content or operation; it may not allow this media type or operation'];
  }
  return [ErrorCodes.REGISTRY, undefined];
}

/** Maps a transport failure (undici / Node error) to a RulesctlError naming the host that failed. */
export function networkError(err: unknown, method: string, url: URL | string): RulesctlError {
  if (err instanceof RulesctlError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  const where = `${method} ${redactUrl(url)}`;
  const details = { method, url: redactUrl(url), cause: e?.code ?? e?.name };
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR' || e?.code === 'UND_ERR_ABORTED') {
    return new RulesctlError(ErrorCodes.ABORTED, `${where}: aborted`, { cause: err, details });
  }
  if (e?.name === 'TimeoutError') {
    return new RulesctlError(ErrorCodes.TIMEOUT, `${where}: timed out`, { cause: err, details });
  }
  if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new RulesctlError(ErrorCodes.TIMEOUT, `${where}: timed out (${e.code})`, {
      cause: err, details, hint: 'the registry or the network is stalled; retry later or raise the timeout',
    });
  }
  const tls = typeof e?.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(e.code);
  return new RulesctlError(ErrorCodes.NETWORK, `${where}: ${redact(e?.message ?? String(err))}`, {
    cause: err,
    details,
    hint: tls ? 'the TLS certificate is not trusted: pass the registry CA with --ca-file, or use --insecure for testing' : 'check the network, proxy settings and that the registry is reachable',
  });
}
