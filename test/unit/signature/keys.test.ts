import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyHint, loadPublicKey, loadSigningKey, publicKeyPem, readSigningKey, signBytes, verifyBytes } from '../../../src/signature/keys.js';

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('signing keys', () => {
  it('accepts PKCS#8 and SEC1 EC P-256 PEM, and round-trips a signature', async () => {
    const pkcs8 = p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const sec1 = p256.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    for (const pem of [pkcs8, sec1]) {
      const key = loadSigningKey(pem);
      const sig = signBytes(key, Buffer.from('payload'));
      expect(sig[0]).toBe(0x30); // ASN.1 DER, as cosign writes
      expect(verifyBytes(await loadPublicKey(publicKeyPem(key)), Buffer.from('payload'), sig)).toBe(true);
      expect(verifyBytes(await loadPublicKey(publicKeyPem(key)), Buffer.from('other'), sig)).toBe(false);
    }
  });

  it('reads an encrypted PKCS#8 key with its passphrase', async () => {
    const pem = p256.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    const key = await readSigningKey('/keys/key.pem', { passphrase: 'pw', readFile: async () => pem });
    expect(keyHint(key)).toBe(keyHint(p256.publicKey));
  });

  it('refuses cosign-encrypted keys with a way forward', () => {
    const pem = '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n';
    expect(() => loadSigningKey(pem)).toThrow(expect.objectContaining({ code: 'ERR_SIGNATURE', hint: expect.stringContaining('openssl genpkey') }));
  });

  it('refuses other curves', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadSigningKey(p384)).toThrow(/not EC P-256/);
  });
});

describe('public keys', () => {
  it('reads a path through the injected reader and names it on failure', async () => {
    const pem = publicKeyPem(p256.publicKey);
    expect(keyHint(await loadPublicKey('/etc/cosign.pub', { readFile: async () => pem }))).toBe(keyHint(p256.publicKey));
    await expect(loadPublicKey('/etc/missing.pub', { readFile: async () => { throw new Error('ENOENT'); } })).rejects.toThrow(/"\/etc\/missing.pub": ENOENT/);
    await expect(loadPublicKey('/etc/garbage.pub', { readFile: async () => 'garbage' })).rejects.toMatchObject({ code: 'ERR_SIGNATURE' });
  });

  it('refuses cosign KMS and env key references', async () => {
    await expect(loadPublicKey('env://COSIGN_PUBLIC_KEY')).rejects.toThrow(/not supported/);
    await expect(loadPublicKey('awskms:///alias/x')).rejects.toThrow(/not supported/);
  });
});
