import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** fixtures/credentials, which holds `docker-credential-rulesctltest` (put it on PATH). */
export const FIXTURES = fileURLToPath(new URL('../../../fixtures/credentials/', import.meta.url));

/** An env whose PATH finds the fixture helper and the usual system tools (sh, sleep). */
export function helperEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${FIXTURES}:/usr/bin:/bin`, ...extra };
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rulesctl-cred-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Copies a fixture file into `dir` and returns its path. */
export async function copyFixture(name: string, dir: string, as = name): Promise<string> {
  const dst = join(dir, as);
  await copyFile(join(FIXTURES, name), dst);
  return dst;
}

/** Runs `fn` and returns the error it throws (fails if it does not). */
export async function caught(fn: () => Promise<unknown>): Promise<Error & { code?: string; hint?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** Every string an error exposes: message, hint, details, and its causes' messages. */
export function exposedText(err: unknown): string {
  const parts: string[] = [];
  let e = err as { message?: string; hint?: string; details?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 5; i++, e = e.cause as typeof e) {
    parts.push(String(e.message ?? ''), String(e.hint ?? ''), JSON.stringify(e.details ?? {}));
  }
  return parts.join('\n');
}
