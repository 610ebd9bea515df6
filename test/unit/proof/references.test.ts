/**
 * Issue 8, Hostile input: references with odd characters are refused by parseReference with
 * ERR_INVALID_REFERENCE quoting the input (before any request); sane edge cases still parse.
 */
import { describe, expect, it } from 'vitest';
import { parseReference } from '../../../src/oci/reference.js';

const HOST = '127.0.0.1:5000';

const REFUSED: [string, string][] = [
  ['uppercase repository', `${HOST}/Falco/Rules:1.0.0`],
  ['space in the repository', `${HOST}/falco rules:1.0.0`],
  ['".." component', `${HOST}/rules/../../etc:1.0.0`],
  ['"." component', `${HOST}/./rules:1.0.0`],
  ['leading slash', `${HOST}//rules:1.0.0`],
  ['trailing slash', `${HOST}/rules/:1.0.0`],
  ['300-character repository', `${HOST}/${'a'.repeat(300)}:1.0.0`],
  ['unicode letter', `${HOST}/règles:1.0.0`],
  ['fullwidth letters', `${HOST}/ｒｕｌｅｓ:1.0.0`],
  ['emoji', `${HOST}/rules🔥:1.0.0`],
  ['empty tag', `${HOST}/rules:`],
  ['129-character tag', `${HOST}/rules:${'t'.repeat(129)}`],
  ['tag with a slash', `${HOST}/rules:1.0.0/../x`],
  ['tag with a plus', `${HOST}/rules:1.0.0+build`],
  ['tag with a newline', `${HOST}/rules:1.0.0\nINJECTED`],
  ['NUL byte', `${HOST}/ru\u0000les:1.0.0`],
  ['ANSI escape', `${HOST}/rules\u001b[2J:1.0.0`],
  ['short digest', `${HOST}/rules@sha256:abc`],
  ['uppercase digest', `${HOST}/rules@sha256:${'A'.repeat(64)}`],
  ['unknown digest algorithm', `${HOST}/rules@md5:${'a'.repeat(32)}`],
  ['host with a space', 'local host/rules:1.0.0'],
  ['empty', ''],
  ['only a host', `${HOST}/`],
];

describe('parseReference refuses odd references', () => {
  for (const [name, input] of REFUSED) {
    it(name, () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_INVALID_REFERENCE' });
      expect((err as Error).message).toContain(`"${input.slice(0, 15)}`); // quotes the input
    });
  }

  it('accepts the sane edge cases', () => {
    expect(parseReference(`${HOST}/a/b/c-d_e.f:V1.0.0_rc-1`)).toMatchObject({ registry: HOST, repository: 'a/b/c-d_e.f', tag: 'V1.0.0_rc-1' });
    expect(parseReference(`${HOST}/rules:${'t'.repeat(128)}`).tag).toHaveLength(128);
    expect(parseReference(`${HOST}/rules@sha256:${'a'.repeat(64)}`).digest).toBe(`sha256:${'a'.repeat(64)}`);
  });
});
