/**
 * Issue 8, Faults: a registry that disappears during a push. A private `docker-registry` is stopped
 * while a blob is being uploaded: the push ends in a clear error (no hang), nothing was committed
 * (no tag, no blob), and once the registry is back the same push succeeds and pulls back whole.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { descriptorFor } from '../../../src/oci/descriptor.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { runCli, testEnv } from '../../cli/_run.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { errorOf, PLATFORM_FLAG, proofDirs, sha256, tree } from '../../helpers/proof/proof.js';
import { startRegistry, type RunningRegistry } from '../../helpers/registries.js';

let reg: RunningRegistry | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await reg?.stop();
  proxy = undefined;
  reg = undefined;
});

/** `total` bytes in 64 KiB chunks, one every `everyMs`: an upload that takes a while. */
function slowStream(data: Buffer, everyMs: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return void this.push(null);
      const chunk = data.subarray(offset, offset + 65_536);
      offset += chunk.length;
      setTimeout(() => this.push(chunk), everyMs);
    },
  });
}

describe('a registry that disappears during a push', () => {
  it('library: the streamed upload fails with ERR_NETWORK, nothing is committed, the retry after restart succeeds', async () => {
    reg = await startRegistry({ name: 'proof-push-gone' });
    const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 5, maxMs: 50 } });
    try {
      const repo = client.repository({ registry: reg.host, repository: 'proof/gone' });
      const data = randomBytes(8 * 1024 * 1024);
      const desc = descriptorFor('application/octet-stream', data);
      const upload = repo.push(desc, slowStream(data, 5)).then(() => undefined, (e: unknown) => e);
      await delay(400);
      await reg.stop({ keepFiles: true });
      const err = await upload;
      expect(err).toMatchObject({ code: expect.stringMatching(/^ERR_(NETWORK|REGISTRY)$/), message: expect.stringContaining(reg.host) });
      await reg.restart();
      expect(await repo.exists(desc)).toBe(false);
      await repo.push(desc, data);
      expect(await repo.exists(desc)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('CLI registry push: exit 1 with a registry error, no tag; after restart the push succeeds and pulls back whole', async () => {
    reg = await startRegistry({ name: 'proof-push-gone-cli' });
    proxy = await startFaultProxy({ upstream: reg.url });
    // Hold the first blob upload at the proxy long enough to take the registry down under it.
    proxy.setRules([{ method: ['PUT', 'PATCH'], path: /\/blobs\/uploads\//, times: 1, kind: 'stall', ms: 600 }]);
    const d = await proofDirs('proof-push-gone');
    const file = join(d.root, 'libproof.so');
    await writeFile(file, randomBytes(2 * 1024 * 1024));
    const ref = `${proxy.host}/proof/plugin:1.0.0`;
    const argv = ['--log-format', 'json', 'registry', 'push', ref, file, '--type', 'plugin', '--version', '1.0.0', '--platform', PLATFORM_FLAG, '--plain-http'];
    const pushing = runCli(argv, { env: testEnv(d.home), cwd: d.root });
    for (let i = 0; i < 200 && !proxy.requests.some((r) => r.handledBy === 'stall'); i++) await delay(10);
    expect(proxy.requests.some((r) => r.handledBy === 'stall')).toBe(true);
    await reg.stop({ keepFiles: true });
    const r = await pushing;
    expect(r.code, r.stderr).toBe(1);
    expect(errorOf(r.stderr).code).toMatch(/^ERR_(REGISTRY|NETWORK)$/);
    await reg.restart();
    const client = createRegistryClient({ plainHttp: true });
    try {
      await expect(client.repository({ registry: reg.host, repository: 'proof/plugin' }).resolve('1.0.0')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    } finally {
      await client.close();
    }
    proxy.reset();
    const again = await runCli(argv, { env: testEnv(d.home), cwd: d.root });
    expect(again.code, again.stderr).toBe(0);
    const pulled = await runCli(['registry', 'pull', ref, '--plain-http', '--platform', PLATFORM_FLAG, '--extract', '-o', d.plugins], { env: testEnv(d.home) });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(tree(d.plugins)).toEqual(['libproof.so']);
    expect(sha256(readFileSync(join(d.plugins, 'libproof.so')))).toBe(sha256(readFileSync(file)));
  });
});
