/**
 * Temporary directories for tests, removed after the test (when created inside one) or after the
 * file (when created at file level / in hooks), and at process exit as a last resort.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

const pending = new Set<string>();

function remove(dir: string): void {
  pending.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

afterAll(() => { for (const dir of [...pending]) remove(dir); });
process.once('exit', () => { for (const dir of [...pending]) remove(dir); });

/** Creates `<os tmpdir>/rulesctl-<prefix>-XXXXXX` and registers it for removal. */
export function tmpDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rulesctl-${prefix.replace(/[^a-zA-Z0-9._-]+/g, '-')}-`));
  pending.add(dir);
  try {
    onTestFinished(() => remove(dir));
  } catch {
    // Not inside a test: the file-level afterAll removes it.
  }
  return dir;
}
