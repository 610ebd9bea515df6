import { ErrorCodes, isRulesctlError, type RulesctlError } from '../errors.js';
import { redact } from '../oci/auth/redact.js';
import { ExitCodes } from './io.js';

export interface RenderedError {
  exitCode: number;
  text: string;
  json: { code: string; message: string; hint?: string; details?: Record<string, unknown> };
}

/**
 * One renderer for every error (style practice 9): what failed, quoting the input, then what to do
 * next. Library errors carry their own message and hint; anything else is a bug.
 */
/** Control characters from user input (an ANSI escape in a reference) are shown escaped, not run by the terminal. */
function printable(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function renderError(err: unknown, opts: { verbose?: boolean } = {}): RenderedError {
  if (isRulesctlError(err)) {
    const e = err as RulesctlError;
    const exitCode = e.code === ErrorCodes.USAGE ? ExitCodes.usage : ExitCodes.failure;
    let text = `Error: ${printable(e.message)}\n`;
    if (e.hint) text += `${printable(e.hint)}\n`;
    // A cause is a library's own text (node, undici, js-yaml): scrubbed of URL userinfo and Authorization-like values.
    if (opts.verbose && e.cause instanceof Error) text += `Caused by: ${printable(redact(e.cause.message))}\n`;
    const json: RenderedError['json'] = { code: e.code, message: e.message };
    if (e.hint) json.hint = e.hint;
    if (e.details) json.details = e.details;
    return { exitCode, text, json };
  }
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error && err.stack ? `${err.stack}\n` : '';
  return {
    exitCode: ExitCodes.failure,
    text: `Error: ${printable(message)}\nThis is a bug in rulesctl; please report it with the command you ran.\n${opts.verbose ? stack : ''}`,
    json: { code: 'ERR_INTERNAL', message },
  };
}
