/**
 * `artifact follow` verifies signatures against the same Sigstore trusted root as `artifact
 * install` (SIGSTORE_ROOT_FILE, TUF_ROOT, ~/.sigstore/root): a policy that needs it (keyless, or
 * a key whose Rekor entry is checked) used to fail at every tick with "needs a Sigstore trusted
 * root" whatever the environment said. Here a key-signed artifact without a Rekor entry, a policy
 * that checks Rekor, and the conformance trusted root: the check now gets as far as Rekor (and
 * refuses, no entry), and nothing is installed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { signArtifact } from '../../../src/signature/sign.js';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { followArgs, followDirs, pushRules, rules, spawnCli } from './_follow.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true });
let falco: FalcoStandIn;
beforeAll(async () => {
  falco = await startFalcoStandIn();
});
afterAll(async () => {
  await falco.close();
  await client.close();
});

describe('artifact follow and the Sigstore trusted root', () => {
  it('checks a Rekor-verified key policy against SIGSTORE_ROOT_FILE instead of failing for want of a root', async () => {
    const repository = uniqueRepo('follow/signed');
    const digest = await pushRules(reg.host, repository, '1.0.0', rules('signed', 3));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await signArtifact({ target: client.repository({ registry: reg.host, repository }), repository: `${reg.host}/${repository}`, digest, key: privateKey });
    const d = followDirs();
    const pub = join(d.root, 'cosign.pub');
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const index = join(d.root, 'index.yaml');
    writeFileSync(index, yaml.dump([{
      name: 'signed-rules', type: 'rulesfile', registry: reg.host, repository, signature: { cosign: { key: pub } },
      description: 'test', home: 'https://example.com', keywords: [], license: 'apache-2.0', maintainers: [], sources: [],
    }]));
    writeFileSync(d.config, yaml.dump({ indexes: [{ name: 'test', url: `file://${index}`, backend: 'file' }] }));
    const root = join(import.meta.dirname, '../../../fixtures/sigstore/trusted_root.json');
    const run = spawnCli(followArgs(d, falco.versionsUrl, ['signed-rules:1.0.0']), d, { SIGSTORE_ROOT_FILE: root });
    try {
      const refused = await run.waitFor((l) => /signature/i.test(JSON.stringify(l)) && (l.level === 'ERROR' || l.level === 'WARN'), 30_000);
      const text = JSON.stringify(refused);
      expect(text).not.toContain('needs a Sigstore trusted root');
      expect(text).toMatch(/tlog|transparency|rekor/i);
      expect(readdirSync(d.rules)).toEqual([]);
    } finally {
      run.proc.kill('SIGTERM');
      await run.proc;
    }
  });
});
