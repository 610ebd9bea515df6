/**
 * `rulesctl artifact verify` through the built CLI on the open test registry: signatures made here
 * with generated keys (cosign formats, src/signature/sign.ts), policies from flags and from an
 * index entry, and the refusals (other key, other digest, unsigned, keyless policy on a key
 * signature).
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/oci/registry/client.js';
import { legacySignatureTag } from '../../src/signature/media-types.js';
import { signArtifact } from '../../src/signature/sign.js';
import { pushMinimalArtifact } from '../helpers/minimal-artifact.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { REPO_ROOT, spawnCli, testEnv } from './_run.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());

async function pushArtifact(repository: string, tag: string): Promise<string> {
  const repo = client.repository({ registry: reg.host, repository });
  return (await pushMinimalArtifact(repo, { name: 'my-rules', content: `rules ${Math.random()}`, tag })).digest;
}

/** A pushed artifact signed (both cosign formats) with a fresh key; the public key is in `pub`. */
async function signedArtifact(dir: string) {
  const repository = uniqueRepo('cli-verify');
  const digest = await pushArtifact(repository, '1.0.0');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await signArtifact({ target: client.repository({ registry: reg.host, repository }), repository: `${reg.host}/${repository}`, digest, key: privateKey });
  const pub = join(dir, 'cosign.pub');
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { repository, digest, pub, ref: `${reg.host}/${repository}:1.0.0` };
}

function otherKey(dir: string): string {
  const path = join(dir, 'other.pub');
  writeFileSync(path, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
  return path;
}

describe('artifact verify', () => {
  it('verifies a key-signed artifact and prints what was verified (text and JSON)', async () => {
    const home = tmpDir('verify-ok');
    const a = await signedArtifact(home);
    const text = await spawnCli(['artifact', 'verify', a.ref, '--key', a.pub, '--ignore-tlog', '--plain-http', '--log-format', 'text'], { env: testEnv(home) });
    expect(text.stderr).toContain('Signature successfully verified!');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Verified ${reg.host}/${a.repository}@${a.digest}`);
    expect(text.stdout).toContain(`policy:      key ${a.pub}, ignore-tlog (from flags)`);

    const json = await spawnCli(['artifact', 'verify', a.ref, '--key', a.pub, '--ignore-tlog', '--plain-http', '-o', 'json'], { env: testEnv(home) });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      reference: a.ref, digest: a.digest, subject: `${reg.host}/${a.repository}@${a.digest}`, policySource: 'flags',
      signature: { format: 'bundle', tlogEntries: 0 },
    });
  });

  it('takes the policy from the index entry when no policy flag is given (name, full ref, semver range)', async () => {
    const home = tmpDir('verify-index');
    const a = await signedArtifact(home);
    const indexFile = join(home, 'index.yaml');
    writeFileSync(indexFile, yaml.dump([{
      name: 'my-rules', type: 'rulesfile', registry: reg.host, repository: a.repository,
      signature: { cosign: { key: a.pub, 'ignore-tlog': true } },
      description: 'test', home: 'https://example.com', keywords: [], license: 'apache-2.0', maintainers: [], sources: [],
    }]));
    writeFileSync(join(home, 'falcoctl.yaml'), yaml.dump({ indexes: [{ name: 'test', url: `file://${indexFile}`, backend: 'file' }] }));
    for (const ref of ['my-rules:1.0.0', a.ref, 'my-rules:^1.0.0']) {
      const r = await spawnCli(['artifact', 'verify', ref, '--plain-http', '-o', 'json'], { env: testEnv(home) });
      expect(r.stderr).not.toContain('Error');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ digest: a.digest, policySource: 'index my-rules' });
    }
  });

  it('refuses another key with exit 1, naming the artifact, the policy and the reasons', async () => {
    const home = tmpDir('verify-other');
    const a = await signedArtifact(home);
    const other = otherKey(home);
    const r = await spawnCli(['artifact', 'verify', a.ref, '--key', other, '--ignore-tlog', '--plain-http', '-o', 'json'], { env: testEnv(home) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Error: error while verifying signature for ${reg.host}/${a.repository}@${a.digest} (policy: key ${other}, ignore-tlog): no signature satisfies the policy`);
  });

  it('refuses a signature made for another digest, and an unsigned artifact', async () => {
    const home = tmpDir('verify-digest');
    const a = await signedArtifact(home);
    // Re-tag: a new manifest under another tag has its own digest and no signature of its own.
    const unsignedDigest = await pushArtifact(a.repository, '2.0.0');
    const unsigned = await spawnCli(['artifact', 'verify', `${reg.host}/${a.repository}:2.0.0`, '--key', a.pub, '--ignore-tlog', '--plain-http'], { env: testEnv(home) });
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain(`${a.repository}@${unsignedDigest}`);
    expect(unsigned.stderr).toContain('no signature found');
    // Copy the first artifact's .sig manifest to the second one's .sig tag: a signature for another digest.
    const repo = client.repository({ registry: reg.host, repository: a.repository });
    const sig = await repo.fetchManifest(legacySignatureTag(a.digest));
    await repo.pushManifest(sig.descriptor, sig.bytes, legacySignatureTag(unsignedDigest));
    const copied = await spawnCli(['artifact', 'verify', `${reg.host}/${a.repository}:2.0.0`, '--key', a.pub, '--ignore-tlog', '--plain-http'], { env: testEnv(home) });
    expect(copied.code).toBe(1);
    expect(copied.stderr).toContain('digest mismatch');
  });

  it('refuses a keyless policy on a key-signed artifact (trusted root from fixtures, offline)', async () => {
    const home = tmpDir('verify-keyless');
    const a = await signedArtifact(home);
    const r = await spawnCli([
      'artifact', 'verify', a.ref, '--plain-http',
      '--certificate-identity-regexp', '^https://github.com/falcosecurity/rules/', '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com',
      '--trusted-root', join(REPO_ROOT, 'fixtures', 'sigstore', 'trusted_root.json'),
    ], { env: testEnv(home) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('signed with a key, but the policy expects a keyless certificate');
  });

  it('fails with a hint when there is no policy at all, and on incomplete policy flags (usage error)', async () => {
    const home = tmpDir('verify-nopolicy');
    const a = await signedArtifact(home);
    writeFileSync(join(home, 'falcoctl.yaml'), yaml.dump({ indexes: [{ name: 'none', url: `file://${join(home, 'empty.yaml')}`, backend: 'file' }] }));
    writeFileSync(join(home, 'empty.yaml'), '[]\n');
    const none = await spawnCli(['artifact', 'verify', a.ref, '--plain-http'], { env: testEnv(home) });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`Error: no signature policy for "${a.ref}"`);
    expect(none.stderr).toContain('--key FILE');
    const partial = await spawnCli(['artifact', 'verify', a.ref, '--certificate-identity', 'x'], { env: testEnv(home) });
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('needs certificate-oidc-issuer');
  });
});
