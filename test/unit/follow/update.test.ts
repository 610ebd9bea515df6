import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildArtifact } from '../../../src/artifact/build.js';
import type { ArtifactRequirement } from '../../../src/artifact/config.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { createPlacementGuard } from '../../../src/follow/daemon.js';
import { cleanStaleWorkDirs, createUpdate, memoizeSmallReads, type UpdateContext } from '../../../src/follow/update.js';
import { describeDiff, diffRuleSets } from '../../../src/follow/update-checks.js';
import { ErrorCodes, RulesctlError } from '../../../src/errors.js';
import { REFUSALS } from '../../../src/follow/follower.js';
import { memoryLogger } from '../../../src/log.js';
import { MemoryStore } from '../../../src/oci/memory/store.js';
import type { Target } from '../../../src/oci/target.js';

const rule = (name: string, cond = 'evt.type = open') => `- rule: ${name}\n  desc: d\n  condition: ${cond}\n  output: o\n  priority: INFO\n`;
let dir: string;
let store: MemoryStore;
const signal = new AbortController().signal;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rulesctl-update-'));
  for (const d of ['rules', 'plugins', 'assets', 'tmp', 'state', 'src']) mkdirSync(join(dir, d));
  store = new MemoryStore({ name: 'mem/rules' });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function publish(text: string, opts: { requirements?: ArtifactRequirement[]; tag?: string; file?: string } = {}): Promise<string> {
  const file = join(dir, 'src', opts.file ?? 'falco_rules.yaml');
  writeFileSync(file, text);
  const built = await buildArtifact({ type: 'rulesfile', files: [{ path: file }], name: 'r', version: '1.0.0', created: '2026-01-01T00:00:00Z', requirements: opts.requirements ?? [] });
  const res = await pushArtifact(store, built, { tags: [opts.tag ?? '1'] });
  await built.dispose();
  return res.rootDigest;
}

function ctx(over: Partial<UpdateContext> = {}): UpdateContext & { log: ReturnType<typeof memoryLogger> } {
  return {
    ref: 'mem/rules:1', target: store, repository: 'mem/rules', platform: { os: 'linux', architecture: 'amd64' },
    dirs: { rulesfile: join(dir, 'rules'), plugin: join(dir, 'plugins'), asset: join(dir, 'assets') },
    tmpDir: join(dir, 'tmp'), lastGoodDir: join(dir, 'state', '.rulesctl', 'last-good', 'x'),
    falcoVersions: { engine_version_semver: '0.63.0', engine_version: '63' }, settleMs: 0,
    log: memoryLogger(), ...over,
  } as UpdateContext & { log: ReturnType<typeof memoryLogger> };
}

const target = () => join(dir, 'rules', 'falco_rules.yaml');

describe('follow update', () => {
  it('installs by rename, keeps the last good file, logs the rules diff, leaves no temp files', async () => {
    const d1 = await publish(rule('a') + rule('b'));
    const c = ctx();
    expect(await createUpdate(c)(d1, signal)).toEqual({ outcome: 'installed' });
    const d2 = await publish(rule('a', 'evt.type = openat') + rule('c'));
    const guard = createPlacementGuard();
    expect(await createUpdate(c)(d2, signal, guard)).toEqual({ outcome: 'installed' });
    expect(readFileSync(target(), 'utf8')).toBe(rule('a', 'evt.type = openat') + rule('c'));
    const lastGood = readdirSync(c.lastGoodDir);
    expect(lastGood).toHaveLength(1);
    expect(readFileSync(join(c.lastGoodDir, lastGood[0]!), 'utf8')).toBe(rule('a') + rule('b'));
    const diffLog = c.log.records.find((r) => r.msg.startsWith('Rules changes:') && r.msg.includes('+1 -1 ~1'));
    expect(diffLog?.fields).toMatchObject({ rules: { added: ['c'], removed: ['b'], changed: ['a'] } });
    expect(readdirSync(join(dir, 'rules'))).toEqual(['falco_rules.yaml']);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('skips an artifact whose requirements Falco does not meet, naming both versions, without downloading the layer', async () => {
    const d = await publish(rule('a'), { requirements: [{ name: 'engine_version_semver', version: '0.70.0' }] });
    const fetch = vi.spyOn(store, 'fetch');
    const res = await createUpdate(ctx())(d, signal);
    expect(res).toMatchObject({ outcome: 'skipped', reason: 'requirements' });
    expect(res.outcome === 'skipped' && res.message).toMatch(/requires engine_version_semver 0\.70\.0, Falco reports 0\.63\.0/);
    expect(fetch.mock.calls.every(([desc]) => !desc.mediaType.includes('layer'))).toBe(true);
    expect(readdirSync(join(dir, 'rules'))).toEqual([]);
  });

  it('checks a rules file\'s plugin dependencies only when Falco reports plugin versions', async () => {
    const file = join(dir, 'src', 'falco_rules.yaml');
    writeFileSync(file, rule('a'));
    const built = await buildArtifact({ type: 'rulesfile', files: [{ path: file }], name: 'r', version: '1.0.0', created: '2026-01-01T00:00:00Z', dependencies: [{ name: 'k8saudit', version: '0.7.0' }] });
    const { rootDigest } = await pushArtifact(store, built, { tags: ['1'] });
    await built.dispose();
    const skipped = await createUpdate(ctx({ pluginVersions: { k8saudit: '0.6.0' } }))(rootDigest, signal);
    expect(skipped).toMatchObject({ outcome: 'skipped', reason: 'requirements' });
    expect(await createUpdate(ctx({ pluginVersions: {} }))(rootDigest, signal)).toEqual({ outcome: 'installed' });
  });

  it('refuses a type that is not allowed and invalid rules as definitive skips; the installed file stays', async () => {
    const good = await publish(rule('a'));
    await createUpdate(ctx())(good, signal);
    expect(await createUpdate(ctx({ allowedTypes: ['plugin'] }))(good, signal)).toMatchObject({ outcome: 'skipped', reason: 'type-not-allowed' });
    const bad = await publish('- rule: x\n  desc: d\n');
    const c = ctx();
    const res = await createUpdate(c)(bad, signal);
    expect(res).toMatchObject({ outcome: 'skipped', reason: 'invalid-rules' });
    expect(c.log.records.find((r) => r.level === 'error')?.fields).toMatchObject({ followerName: 'mem/rules:1', reference: `mem/rules@${bad}` });
    expect(readFileSync(target(), 'utf8')).toBe(rule('a'));
  });

  it('checks requirements against Falco\'s versions read again, so a refusal clears once Falco loaded the plugin', async () => {
    const file = join(dir, 'src', 'falco_rules.yaml');
    writeFileSync(file, rule('a'));
    const built = await buildArtifact({ type: 'rulesfile', files: [{ path: file }], name: 'r', version: '1.0.0', created: '2026-01-01T00:00:00Z', dependencies: [{ name: 'container', version: '0.4.0' }] });
    const { rootDigest } = await pushArtifact(store, built, { tags: ['1'] });
    await built.dispose();
    let loaded = '0.3.0';
    const readFalcoVersions = vi.fn(async () => ({ versions: { engine_version_semver: '0.63.0' }, pluginVersions: { container: loaded } }));
    const update = createUpdate(ctx({ pluginVersions: { container: '0.3.0' }, readFalcoVersions }));
    const refused = await update(rootDigest, signal);
    expect(refused).toMatchObject({ outcome: 'skipped', reason: 'requirements' });
    expect(refused.outcome === 'skipped' && refused.message).toMatch(/requires plugin container 0\.4\.0, Falco reports 0\.3\.0/);
    expect(REFUSALS.requirements).toBe('retry');
    loaded = '0.4.0';
    expect(await update(rootDigest, signal)).toEqual({ outcome: 'installed' });
    expect(readFileSync(target(), 'utf8')).toBe(rule('a'));
    expect(readFalcoVersions).toHaveBeenCalledTimes(2);
  });

  it('falls back to the versions read at start when Falco cannot be asked again', async () => {
    const d = await publish(rule('a'), { requirements: [{ name: 'engine_version_semver', version: '0.70.0' }] });
    const readFalcoVersions = async () => { throw new Error('connect ECONNREFUSED'); };
    expect(await createUpdate(ctx({ readFalcoVersions }))(d, signal)).toMatchObject({ outcome: 'skipped', reason: 'requirements' });
  });

  it('refuses content that does not match its digest, and a signature the policy rejects, before any write', async () => {
    const d = await publish(rule('a'));
    const manifest = JSON.parse((await store.fetchManifest(d)).bytes.toString()) as { layers: { digest: string }[] };
    const layer = manifest.layers[0]!.digest;
    const bytes = store.blobs.get(layer)!;
    store.blobs.set(layer, Buffer.from(bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 1 : b))));
    const c = ctx();
    const bad = await createUpdate(c)(d, signal);
    expect(bad).toMatchObject({ outcome: 'skipped', reason: 'bad-digest' });
    expect(c.log.records.find((r) => r.level === 'error')).toMatchObject({ msg: 'Artifact refused, not installing', fields: { reason: 'bad-digest', reference: `mem/rules@${d}` } });
    store.blobs.set(layer, bytes);

    const signature = { cosign: { 'certificate-identity': 'x' } } as unknown as UpdateContext['signature'];
    const refusal = (reason: string) => async () => {
      throw new RulesctlError(ErrorCodes.SIGNATURE, `error while verifying signature for mem/rules@${d}: ${reason}`, { details: { reason } });
    };
    const rejected = await createUpdate(ctx({ signature, verifySignature: refusal('rejected') as never }))(d, signal);
    expect(rejected).toMatchObject({ outcome: 'skipped', reason: 'signature' });
    const unsigned = await createUpdate(ctx({ signature, verifySignature: refusal('unsigned') as never }))(d, signal);
    expect(unsigned).toMatchObject({ outcome: 'skipped', reason: 'unsigned' });
    await expect(createUpdate(ctx({ signature, verifySignature: refusal('no-trusted-root') as never }))(d, signal)).rejects.toThrow(/no-trusted-root/);
    expect([REFUSALS['bad-digest'], REFUSALS.signature, REFUSALS.unsigned]).toEqual(['permanent', 'permanent', 'retry']);
    expect(readdirSync(join(dir, 'rules'))).toEqual([]);
  });

  it('rolls back when Falco is unhealthy after the swap (a refusal tried again later), and reloads twice', async () => {
    const d1 = await publish(rule('a'));
    await createUpdate(ctx())(d1, signal);
    const d2 = await publish(rule('b'));
    const reload = vi.fn(async () => {});
    const res = await createUpdate(ctx({ reload, verify: async () => ({ healthy: false, reason: 'HTTP 500' }) }))(d2, signal);
    expect(res).toMatchObject({ outcome: 'skipped', reason: 'rolled-back' });
    expect(REFUSALS['rolled-back']).toBe('retry');
    expect(readFileSync(target(), 'utf8')).toBe(rule('a'));
    expect(reload).toHaveBeenCalledTimes(2);
  });

  it('verifies the signature when a policy is known, and a refusal throws before any write', async () => {
    const d = await publish(rule('a'));
    const verifySignature = vi.fn(async () => { throw new Error('no signature found'); });
    const signature = { cosign: { 'certificate-identity': 'x' } } as unknown as UpdateContext['signature'];
    await expect(createUpdate(ctx({ signature, verifySignature: verifySignature as never }))(d, signal)).rejects.toThrow(/no signature found/);
    expect(verifySignature).toHaveBeenCalledWith(expect.objectContaining({ repository: 'mem/rules', digest: d, signature }));
    expect(readdirSync(join(dir, 'rules'))).toEqual([]);
  });

  it('does not touch files whose bytes are already in place', async () => {
    const d = await publish(rule('a'));
    await createUpdate(ctx())(d, signal);
    const c = ctx();
    expect(await createUpdate(c)(d, signal)).toEqual({ outcome: 'installed' });
    expect(c.log.records.map((r) => r.msg)).toContain('Artifact files already in place');
    expect(c.log.records.map((r) => r.msg)).not.toContain('Rules files placed');
  });

  it('fails clearly when the destination directory does not exist', async () => {
    const d = await publish(rule('a'));
    await expect(createUpdate(ctx({ dirs: { rulesfile: join(dir, 'nope'), plugin: '', asset: '' } }))(d, signal)).rejects.toThrow(/does not exist/);
  });
});

describe('memoizeSmallReads', () => {
  it('answers repeated manifest-by-digest and config reads once', async () => {
    const d = await publish(rule('a'));
    const fm = vi.spyOn(store, 'fetchManifest');
    const t: Target = memoizeSmallReads(store);
    await t.fetchManifest(d);
    await t.fetchManifest(d);
    expect(fm).toHaveBeenCalledTimes(1);
    await t.fetchManifest('1');
    expect(fm).toHaveBeenCalledTimes(2);
  });
});

describe('cleanStaleWorkDirs', () => {
  it('removes download dirs of dead processes and of our own pid, keeps others', async () => {
    const tmp = join(dir, 'tmp');
    mkdirSync(join(tmp, 'rulesctl-follow-999999999-abc'));
    mkdirSync(join(tmp, `rulesctl-follow-${process.pid}-def`));
    mkdirSync(join(tmp, 'rulesctl-follow-1-ghi'));
    mkdirSync(join(tmp, 'other'));
    const removed = await cleanStaleWorkDirs(tmp);
    expect(removed.map((p) => p.split('/').pop()).sort()).toEqual([`rulesctl-follow-${process.pid}-def`, 'rulesctl-follow-999999999-abc']);
    expect(readdirSync(tmp).sort()).toEqual(['other', 'rulesctl-follow-1-ghi']);
  });
});

describe('rules diff summary', () => {
  it('reads each side as one stream, so an item moving between files is not a change', () => {
    const d = diffRuleSets([rule('a'), rule('b')], [rule('b') + rule('a')]);
    expect(d && describeDiff(d)).toBe('rules +0 -0 ~0, macros +0 -0 ~0, lists +0 -0 ~0');
    expect(diffRuleSets(['- rule: [x'], [rule('a')])).toBeUndefined();
  });
});
