/**
 * renderError: with --verbose (debug), the `Caused by:` line shows the underlying library error,
 * scrubbed of what could be a credential (URL userinfo, Authorization-like values), and without
 * terminal control characters.
 */
import { describe, expect, it } from 'vitest';
import { renderError } from '../../../src/cli/errors.js';
import { ErrorCodes, RulesctlError } from '../../../src/errors.js';

describe('renderError', () => {
  const err = new RulesctlError(ErrorCodes.NETWORK, 'cannot fetch index', {
    cause: new Error('connect to https://alice:s3cret-pw@idx.example.com/i.yaml failed; authorization: Basic YWxpY2U6czNjcmV0 \u001b[31mred'),
  });

  it('shows the cause only when verbose', () => {
    expect(renderError(err).text).toBe('Error: cannot fetch index\n');
    expect(renderError(err, { verbose: true }).text).toMatch(/^Error: cannot fetch index\nCaused by: /);
  });

  it('scrubs credentials and control characters from the cause', () => {
    const text = renderError(err, { verbose: true }).text;
    expect(text).not.toContain('s3cret-pw');
    expect(text).not.toContain('YWxpY2U6czNjcmV0');
    expect(text).not.toContain('\u001b');
    expect(text).toContain('idx.example.com/i.yaml');
  });
});
