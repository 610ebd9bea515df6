/**
 * Secret scrubbing for messages, logs and error details (CONTRIBUTING "Secrets never appear …").
 * Forward scans, no backtracking regexes over user input.
 */

const SECRET_QUERY_KEYS = new Set([
  'access_token', 'token', 'refresh_token', 'password', 'sig', 'signature', 'x-amz-signature',
  'x-amz-credential', 'x-amz-security-token', 'x-goog-signature', 'x-goog-credential', 'se', 'st', 'code', '_state',
]);

/** A URL without `user:pass@` and with secret-looking query values replaced by `***`. */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return redact(String(url));
  }
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_QUERY_KEYS.has(key.toLowerCase())) u.searchParams.set(key, '***');
  }
  return u.toString();
}

/**
 * Scrubs free text: `scheme://user:pass@` userinfo, `Authorization:`-style header values and
 * `Basic`/`Bearer` credentials.
 */
export function redact(text: string): string {
  return redactBearer(redactUserinfo(text));
}

function redactUserinfo(text: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const scheme = text.indexOf('://', i);
    if (scheme < 0) return out + text.slice(i);
    const start = scheme + 3;
    let end = start;
    while (end < text.length && !'/?#@ \t\r\n"\''.includes(text[end]!)) end++;
    out += text.slice(i, start);
    if (text[end] === '@' && end > start) {
      out += '***@';
      i = end + 1;
    } else {
      i = start;
    }
  }
}

function redactBearer(text: string): string {
  return text.replace(/\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]+/gi, (_m, scheme: string, sp: string) => `${scheme}${sp}***`);
}

/** Header names whose values are never logged. */
const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** A copy of `headers` safe to log. */
export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = SENSITIVE_HEADERS.has(k.toLowerCase()) ? '***' : v;
  return out;
}

/** A URL for messages about token endpoints: no userinfo and no query at all (secrets travel there). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}
