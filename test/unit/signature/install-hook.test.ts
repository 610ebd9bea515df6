import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../src/log.js';
import { MemoryStore } from '../../../src/oci/memory/store.js';
import { verifyBeforeWrite } from '../../../src/signature/install-hook.js';
import { signArtifact } from '../../../src/signature/sign.js';
import { newKeys, pushArtifact } from './_helpers.js';

const REPO = 'registry.local/falco/rules';

describe('verifyBeforeWrite', () => {
  it('skips entries without a signature block', async () => {
    const store = new MemoryStore();
    const root = await pushArtifact(store);
    expect(await verifyBeforeWrite({ target: store, repository: REPO, digest: root.digest })).toEqual({ status: 'skipped', reason: 'no-policy' });
    expect(await verifyBeforeWrite({ target: store, repository: REPO, digest: root.digest, signature: {} })).toEqual({ status: 'skipped', reason: 'no-policy' });
  });

  it('skips with a warning under --no-verify', async () => {
    const store = new MemoryStore();
    const root = await pushArtifact(store);
    const logger = memoryLogger();
    const r = await verifyBeforeWrite({ target: store, repository: REPO, digest: root.digest, noVerify: true, logger, signature: { cosign: { key: newKeys().publicPem } } });
    expect(r).toEqual({ status: 'skipped', reason: 'no-verify' });
    expect(logger.records.map((l) => l.level)).toEqual(['warn']);
  });

  it('verifies with the entry policy and logs like falcoctl', async () => {
    const store = new MemoryStore();
    const root = await pushArtifact(store);
    const keys = newKeys();
    await signArtifact({ target: store, repository: REPO, digest: root.digest, key: keys.privateKey });
    const logger = memoryLogger();
    const r = await verifyBeforeWrite({ target: store, repository: REPO, digest: root.digest, logger, signature: { cosign: { key: keys.publicPem, 'ignore-tlog': true } } });
    expect(r.status).toBe('verified');
    expect(logger.records.map((l) => l.msg)).toEqual([`Verifying signature for artifact digest: ${root.digest}`, 'Signature successfully verified!']);
  });

  it('throws ERR_SIGNATURE for an unsigned artifact under a policy', async () => {
    const store = new MemoryStore();
    const root = await pushArtifact(store);
    await expect(verifyBeforeWrite({ target: store, repository: REPO, digest: root.digest, signature: { cosign: { key: newKeys().publicPem, 'ignore-tlog': true } } }))
      .rejects.toMatchObject({ code: 'ERR_SIGNATURE' });
  });
});
