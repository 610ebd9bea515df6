import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../src/log.js';
import { formatRfc3339Nano, readState, statePath, writeState } from '../../../src/install/state.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rulesctl-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ref = 'ghcr.io/falcosecurity/rules/falco-rules:5';
const digest = `sha256:${'a'.repeat(64)}`;

describe('artifact state file', () => {
  it('lives at <state>/.falcoctl/artifact-state/<sha256(ref)>.json', () => {
    const hex = createHash('sha256').update(ref).digest('hex');
    expect(statePath('/var/lib/falcoctl', ref)).toBe(`/var/lib/falcoctl/.falcoctl/artifact-state/${hex}.json`);
  });

  it('is written byte-exact, 0600 in 0700 directories, whatever the umask', async () => {
    const stateDir = join(dir, 'state');
    const old = process.umask(0o022);
    try {
      await writeState(stateDir, ref, digest, { now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 120) });
    } finally {
      process.umask(old);
    }
    const path = statePath(stateDir, ref);
    expect(await readFile(path, 'utf8')).toBe(
      `{"ref":"${ref}","digest":"${digest}","updatedAt":"2026-01-02T03:04:05.12Z"}`,
    );
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    for (const d of [stateDir, join(stateDir, '.falcoctl'), dirname(path)]) {
      expect((await stat(d)).mode & 0o777).toBe(0o700);
    }
    expect(await readdir(dirname(path))).toHaveLength(1);
  });

  it('formats time like Go RFC3339Nano (no fraction when zero)', () => {
    expect(formatRfc3339Nano(Date.UTC(2026, 10, 23, 13, 0, 0, 0))).toBe('2026-11-23T13:00:00Z');
    expect(formatRfc3339Nano(Date.UTC(2026, 10, 23, 13, 0, 0, 5))).toBe('2026-11-23T13:00:00.005Z');
  });

  it('escapes like Go encoding/json', async () => {
    await writeState(dir, 'r<&>', digest, { now: () => 0 });
    expect(await readFile(statePath(dir, 'r<&>'), 'utf8')).toContain('"ref":"r\\u003c\\u0026\\u003e"');
  });

  it('round-trips, and a missing file is undefined', async () => {
    expect(await readState(dir, ref)).toBeUndefined();
    const written = await writeState(dir, ref, digest);
    expect(await readState(dir, ref)).toEqual(written);
  });

  it('reads falcoctl-written files with nanosecond times', async () => {
    const path = statePath(dir, ref);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `{"ref":"${ref}","digest":"${digest}","updatedAt":"2026-01-05T10:11:12.123456789Z"}`);
    expect(await readState(dir, ref)).toEqual({ ref, digest, updatedAt: '2026-01-05T10:11:12.123456789Z' });
  });

  it('warns and returns undefined on a corrupt file', async () => {
    const path = statePath(dir, ref);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '{"ref":');
    const log = memoryLogger();
    expect(await readState(dir, ref, { log })).toBeUndefined();
    expect(log.records).toMatchObject([{ level: 'warn', fields: { ref } }]);
  });

  it('rejects empty arguments', async () => {
    await expect(writeState(dir, ref, '')).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });
});
