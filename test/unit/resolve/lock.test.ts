import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertLockSatisfies, LOCK_FILE_NAME, lockSatisfies, parseLock, readLock, serializeLock, writeLock, type LockFile } from '../../../src/resolve/lock.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const lock: LockFile = {
  version: 1,
  entries: [
    { name: 'cloudtrail-rules', ref: 'ghcr.io/falcosecurity/plugins/ruleset/cloudtrail:latest', digest: D('a'), type: 'rulesfile', version: '0.12.0', dependencies: ['cloudtrail', 'json'] },
    { name: 'json', ref: 'ghcr.io/falcosecurity/plugins/plugin/json:0.8.1', digest: D('b'), type: 'plugin', version: '0.8.1', platform: 'linux/amd64', dependencies: [] },
    { name: 'cloudtrail', ref: 'ghcr.io/falcosecurity/plugins/plugin/cloudtrail:0.12.4', digest: D('c'), type: 'plugin', version: '0.12.4', platform: 'linux/amd64', dependencies: [] },
  ],
};

describe('lock file', () => {
  it('serializes canonically and parses back', () => {
    const text = serializeLock(lock);
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = parseLock(text);
    expect(parsed.entries.map((e) => e.name)).toEqual(['cloudtrail', 'cloudtrail-rules', 'json']);
    expect(serializeLock(parsed)).toBe(text);
    expect(JSON.parse(text).entries[0]).toEqual({ name: 'cloudtrail', ref: lock.entries[2]!.ref, digest: D('c'), type: 'plugin', version: '0.12.4', platform: 'linux/amd64', dependencies: [] });
  });

  it.each([
    ['{"version":2,"entries":[]}', 'version: expected 1, got 2'],
    ['{"version":1}', 'entries: expected a list'],
    ['{"version":1,"entries":[{"name":"a","ref":"r","digest":"sha256:zz","type":"plugin","version":"1.0.0"}]}', 'entries[0].digest: expected "sha256:<64 hex>"'],
    [`{"version":1,"entries":[{"name":"a","ref":"r","digest":"${D('a')}","type":"driver","version":"1.0.0"}]}`, 'entries[0].type: must be one of'],
    [`{"version":1,"entries":[{"name":"a","ref":"r","digest":"${D('a')}","type":"plugin","version":"1.0.0"},{"name":"a","ref":"r","digest":"${D('a')}","type":"plugin","version":"1.0.0"}]}`, 'duplicate entry "a"'],
    ['nope', 'not JSON'],
  ])('rejects %s', (text, message) => {
    expect(() => parseLock(text, 'x.lock.json')).toThrow(message);
  });

  it('writes atomically and reads back; a missing file reads as undefined', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rulesctl-lock-'));
    const path = join(dir, LOCK_FILE_NAME);
    expect(await readLock(path)).toBeUndefined();
    await writeLock(path, lock);
    await writeLock(path, lock);
    expect(await readdir(dir)).toEqual([LOCK_FILE_NAME]);
    expect(await readFile(path, 'utf8')).toBe(serializeLock(lock));
    expect((await readLock(path))!.entries).toHaveLength(3);
  });
});

describe('lockSatisfies (--frozen)', () => {
  const refs = ['ghcr.io/falcosecurity/plugins/ruleset/cloudtrail:latest'];
  it('accepts a complete lock', () => {
    expect(lockSatisfies(lock, { refs, platform: 'linux/amd64', resolved: [{ name: 'json', version: '0.8.1' }] })).toEqual({ ok: true, problems: [] });
  });
  it('lists every problem', () => {
    const partial: LockFile = { version: 1, entries: lock.entries.filter((e) => e.name !== 'json') };
    expect(lockSatisfies(partial, { refs: [...refs, 'ghcr.io/x/y:1'], platform: 'linux/arm64', resolved: [{ name: 'cloudtrail', version: '0.13.0' }] }).problems).toEqual([
      'no lock entry for ghcr.io/x/y:1',
      'cloudtrail-rules depends on json, which is not in the lock',
      'cloudtrail is locked for linux/amd64, not linux/arm64',
      'cloudtrail is locked at 0.12.4, resolution wants 0.13.0',
    ]);
    expect(lockSatisfies(partial, { refs, resolveDeps: false }).ok).toBe(true);
    expect(() => assertLockSatisfies(partial, { refs })).toThrow(/rulesctl.lock.json does not match the request: cloudtrail-rules depends on json/);
  });
});
