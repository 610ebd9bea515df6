/**
 * The library's install verifies signatures against the CLI's Sigstore trusted root for the env it
 * is given (SIGSTORE_ROOT_FILE, TUF_ROOT, ~/.sigstore/root): with a policy that checks Rekor, the
 * check gets as far as Rekor instead of failing for want of a root.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { install } from 'rulesctl';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { signArtifact } from '../../../src/signature/sign.js';
import { pushMinimalArtifact } from '../../helpers/minimal-artifact.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true });
afterAll(() => client.close());

describe('library install and the Sigstore trusted root', () => {
  it('uses SIGSTORE_ROOT_FILE from opts.env', async () => {
    const repository = uniqueRepo('api/signed');
    const target = client.repository({ registry: reg.host, repository });
    const { digest } = await pushMinimalArtifact(target, { name: 'signed-rules', content: `rules ${Math.random()}`, tag: '1.0.0' });
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await signArtifact({ target, repository: `${reg.host}/${repository}`, digest, key: privateKey });
    const dir = tmpDir('api-trusted-root');
    const pub = join(dir, 'cosign.pub');
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const index = join(dir, 'index.yaml');
    writeFileSync(index, yaml.dump([{
      name: 'signed-rules', type: 'rulesfile', registry: reg.host, repository, signature: { cosign: { key: pub } },
      description: 'test', home: 'https://example.com', keywords: [], license: 'apache-2.0', maintainers: [], sources: [],
    }]));
    for (const sub of ['rules', 'plugins', 'state']) mkdirSync(join(dir, sub));
    const root = join(import.meta.dirname, '../../../fixtures/sigstore/trusted_root.json');
    const err = await install(['signed-rules:1.0.0'], {
      plainHttp: true, env: { SIGSTORE_ROOT_FILE: root }, home: dir, cacheDir: join(dir, 'cache'),
      indexes: [{ name: 'test', url: `file://${index}`, backend: 'file' }],
      rulesfilesDir: join(dir, 'rules'), pluginsDir: join(dir, 'plugins'), stateDir: join(dir, 'state'),
    }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toContain('expected 1 tlog timestamps, got 0');
    expect(err?.message).not.toContain('needs a Sigstore trusted root');
    expect(readdirSync(join(dir, 'rules'))).toEqual([]);
  });
});
