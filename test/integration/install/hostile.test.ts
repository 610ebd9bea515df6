/**
 * The hostile archive corpus (fixtures/archives, see its README) pushed byte for byte as rulesfile
 * layers and installed: every refused archive is refused through install, and nothing is written
 * (not the benign artifact installed alongside, not the paths the archive aims at).
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeIndexes } from '../../../src/index/merged.js';
import { install } from '../../../src/install/install.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { createTargetFactory } from '../../../src/oci/targets.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { PLATFORM, destinations, publishRawLayer, snapshot } from './_publish.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());
const targets = createTargetFactory({ client });
const corpus = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'archives');

const REFUSED: Record<string, string> = {
  'dotdot.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'absolute.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'symlink.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'symlink-then-file.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'hardlink.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'chardev.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'blockdev.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'fifo.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'gzip-bomb.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'zero-blocks-bomb.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'too-many-entries.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'dir-replaced-by-file.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'duplicate-entry.tar.gz': 'ERR_UNSAFE_ARCHIVE',
  'truncated.tar.gz': 'ERR_INVALID_ARTIFACT',
  'not-gzip.tar.gz': 'ERR_INVALID_ARTIFACT',
  'trailing-junk-after-gzip.tar.gz': 'ERR_INVALID_ARTIFACT',
};

describe('install refuses the hostile archive corpus', () => {
  it('covers every refused archive of the corpus README', async () => {
    const readme = await readFile(join(corpus, 'README.md'), 'utf8');
    const refused = [...readme.matchAll(/^\| `([^`]+)` \|[^|]*\| refused/gm)].map((m) => m[1]);
    expect(refused.sort()).toEqual(Object.keys(REFUSED).sort());
  });

  for (const [file, code] of Object.entries(REFUSED)) {
    it(`${file}: ${code}, nothing written`, async () => {
      const repository = uniqueRepo('install-hostile');
      const target = await targets({ registry: reg.host, repository });
      const benignRepo = uniqueRepo('install-benign');
      const benign = await targets({ registry: reg.host, repository: benignRepo });
      await publishRawLayer(benign, await readFile(join(corpus, 'benign.tar.gz')), 'benign', '1.0.0');
      await publishRawLayer(target, await readFile(join(corpus, file)), 'hostile', '1.0.0');
      const d = await destinations();
      // The destinations, their own mtimes included (a staging dir created and removed would show).
      const dests = () => Object.entries(snapshot(d.root)).filter(([p]) => !p.startsWith(d.stateDir));
      const before = dests();
      const err = await install({
        refs: [`${reg.host}/${benignRepo}:1.0.0`, `${reg.host}/${repository}:1.0.0`], ...d,
        allowedTypes: [], platform: PLATFORM, resolveDeps: true, noVerify: false,
      }, { targets, index: mergeIndexes([]) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code });
      expect(dests()).toEqual(before);
      expect(existsSync(join(d.stateDir, '.falcoctl'))).toBe(false);
      expect(await readdir(d.rulesfilesDir)).toEqual([]);
      for (const aimed of ['/tmp/rulesctl-corpus-dotdot.txt', '/tmp/rulesctl-corpus-absolute.txt', '/tmp/rulesctl-corpus-symlink.txt', join(d.root, 'rulesctl-corpus-dotdot.txt')]) {
        expect(existsSync(aimed)).toBe(false);
      }
    });
  }

  it('the benign archive alone installs, with its modes', async () => {
    const repository = uniqueRepo('install-benign');
    const target = await targets({ registry: reg.host, repository });
    await publishRawLayer(target, await readFile(join(corpus, 'benign.tar.gz')), 'benign', '1.0.0');
    const d = await destinations();
    const r = await install({ refs: [`${reg.host}/${repository}:1.0.0`], ...d, allowedTypes: [], platform: PLATFORM, resolveDeps: true, noVerify: false }, { targets, index: mergeIndexes([]) });
    expect(r.installed[0]!.files.length).toBeGreaterThanOrEqual(3);
    expect(r.installed[0]!.files.every((f) => f.startsWith(d.rulesfilesDir))).toBe(true);
  });
});
