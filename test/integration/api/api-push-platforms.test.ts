/**
 * The library's push checks platforms as the CLI and falcoctl do, before anything is uploaded:
 * one os/arch per plugin file, each in OS/ARCH form.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, push } from 'rulesctl';
import { describe, expect, it } from 'vitest';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('library push: plugin platforms', () => {
  it('refuses more platforms than files, and a malformed one, and pushes nothing', async () => {
    const reg = getRegistries().open;
    const repo = uniqueRepo('api/plugin');
    const file = join(tmpDir('api-platforms'), 'libp.so');
    await writeFile(file, Buffer.alloc(64, 1));
    const opts = { type: 'plugin' as const, version: '1.0.0', plainHttp: true, env: {} };
    await expect(push(`${reg.host}/${repo}:1.0.0`, [file], { ...opts, platforms: ['linux/amd64', 'linux/arm64'] }))
      .rejects.toMatchObject({ code: ErrorCodes.USAGE, message: expect.stringContaining('"filepaths" length (1) must match "platforms" length (2)') });
    await expect(push(`${reg.host}/${repo}:1.0.0`, [file], { ...opts, platforms: ['linux-amd64'] }))
      .rejects.toMatchObject({ code: ErrorCodes.USAGE, message: expect.stringContaining('wrong format') });
    const tags = await fetch(`${reg.url}/v2/${repo}/tags/list`);
    expect(tags.status).toBe(404);
  });
});
