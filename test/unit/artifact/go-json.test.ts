import { describe, expect, it } from 'vitest';
import { goJson, goJsonString, goMap } from '../../../src/artifact/go-json.js';

describe('goJson', () => {
  it('escapes like Go json.Marshal', () => {
    expect(goJsonString('<a href="x">&</a>')).toBe('"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
    expect(goJsonString('\u2028\u2029\b\f\n\r\t\u0001\u007f\\')).toBe('"\\u2028\\u2029\\b\\f\\n\\r\\t\\u0001\u007f\\\\"');
    expect(goJsonString('é😀')).toBe('"é😀"');
    expect(goJsonString('\ud800x')).toBe('"\ufffdx"');
  });

  it('writes structs in field order, maps sorted by bytes, and skips undefined', () => {
    expect(goJson({ b: 1, a: undefined, c: [true, null], m: goMap({ z: '1', '10': 'x', '9': 'y', B: 'b' }) })).toBe(
      '{"b":1,"c":[true,null],"m":{"10":"x","9":"y","B":"b","z":"1"}}',
    );
    expect(goJson({ m: goMap({}) })).toBe('{}');
    expect(() => goJson(1.5)).toThrow(TypeError);
  });
});
