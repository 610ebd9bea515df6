/**
 * `artifact info` warns and goes on when one repository cannot be listed, as falcoctl does
 * (cmd/artifact/info/info.go: "Cannot retrieve tags from", then the other rows).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/oci/registry/client.js';
import { createTargetFactory } from '../../src/oci/targets.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { publish } from '../integration/install/_publish.js';
import { cliHome } from '../integration/artifact/_helpers.js';
import { runCli } from './_run.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());
const targets = createTargetFactory({ client });

describe('artifact info with a repository that cannot be listed', () => {
  it('warns about it and prints the others, exit 0', async () => {
    const repository = uniqueRepo('cli/info-ok');
    await publish(await targets({ registry: reg.host, repository }), { type: 'rulesfile', name: 'info-ok', version: '1.0.0', tags: ['1.0.0', 'latest'] });
    const missing = uniqueRepo('cli/info-missing');
    const { env } = cliHome();
    const r = await runCli(['artifact', 'info', `${reg.host}/${missing}`, `${reg.host}/${repository}`, '--plain-http', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Cannot retrieve tags from');
    expect(r.stderr).toContain(`${reg.host}/${missing}`);
    const rows = JSON.parse(r.stdout) as { ref: string; tags: string[] }[];
    expect(rows.map((row) => ({ ...row, tags: [...row.tags].sort() }))).toEqual([{ ref: `${reg.host}/${repository}`, tags: ['1.0.0', 'latest'] }]);
  });
});
