/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1, RFC 6750 §3): several challenges in one header,
 * case-insensitive schemes, quoted values that contain commas and escaped quotes.
 * Spec: registries.md §4.1; distribution docs/spec/auth/token.md.
 */
export interface Challenge {
  /** Lower-cased scheme: `basic`, `bearer`, … */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** Parses one or more `WWW-Authenticate` header values into challenges, in order. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.flatMap(parseOne);
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skip = (chars: string): void => {
    while (i < s.length && chars.includes(s[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TOKEN_CHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skip(' \t,');
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(' \t,');
      const save = i;
      const name = token();
      skip(' \t');
      if (!name || s[i] !== '=') {
        i = save; // the next challenge starts here
        break;
      }
      i++;
      skip(' \t');
      challenge.params[name.toLowerCase()] = s[i] === '"' ? quoted() : token();
    }
  }
  return out;

  function quoted(): string {
    let v = '';
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++;
    return v;
  }
}

/** The scopes a Bearer challenge asks for (the `scope` parameter holds space-separated scopes). */
export function challengeScopes(c: Challenge): string[] {
  return (c.params['scope'] ?? '').split(' ').filter(Boolean);
}
