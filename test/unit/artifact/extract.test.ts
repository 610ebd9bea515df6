import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractToStaging, moveStagedInto } from '../../../src/artifact/extract.js';

const corpus = (name: string): string => new URL(`../../../fixtures/archives/${name}`, import.meta.url).pathname;

let root: string;
let dest: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rulesctl-extract-'));
  dest = join(root, 'dest');
  mkdirSync(dest);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Everything under `dir`, recursively, as relative paths. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

const refused: [string, string, RegExp][] = [
  ['dotdot.tar.gz', 'ERR_UNSAFE_ARCHIVE', /refusing to extract "rules\/\.\.\/\.\.\/rulesctl-corpus-dotdot\.txt": "\.\." path components/],
  ['absolute.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"\/tmp\/rulesctl-corpus-absolute\.txt": absolute paths/],
  ['symlink.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"passwd": symbolic links are not allowed \(-> "\/etc\/passwd"\)/],
  ['symlink-then-file.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"escape": symbolic links are not allowed/],
  ['hardlink.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"shadow": hard links are not allowed/],
  ['chardev.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"null": device entries are not allowed \(CharacterDevice\)/],
  ['blockdev.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"sda": device entries are not allowed \(BlockDevice\)/],
  ['fifo.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"pipe": FIFO entries are not allowed/],
  ['gzip-bomb.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"zeros\.bin": the archive holds more than 1073741824 bytes \(byte budget\)/],
  ['zero-blocks-bomb.tar.gz', 'ERR_UNSAFE_ARCHIVE', /the archive holds more than 1073741824 bytes \(byte budget\)/],
  ['too-many-entries.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"f10000": more than 10000 entries \(entry budget\)/],
  ['dir-replaced-by-file.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"conf": a file would replace a directory of this archive/],
  ['duplicate-entry.tar.gz', 'ERR_UNSAFE_ARCHIVE', /"falco_rules\.yaml": duplicate entry/],
  ['truncated.tar.gz', 'ERR_INVALID_ARTIFACT', /not a valid tar\.gz archive/],
  ['not-gzip.tar.gz', 'ERR_INVALID_ARTIFACT', /not a valid tar\.gz archive/],
  ['trailing-junk-after-gzip.tar.gz', 'ERR_INVALID_ARTIFACT', /not a valid tar\.gz archive/],
];

describe('extractToStaging: hostile corpus', () => {
  it.each(refused)('refuses %s', async (name, code, message) => {
    const err = await extractToStaging(corpus(name), dest).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toMatch(message);
    expect(tree(root)).toEqual(['dest']); // staging removed, nothing beside it
    expect(existsSync('/tmp/rulesctl-corpus-absolute.txt')).toBe(false);
    expect(existsSync('/tmp/rulesctl-corpus-symlink.txt')).toBe(false);
    expect(existsSync(join(tmpdir(), 'rulesctl-corpus-dotdot.txt'))).toBe(false);
  }, 60_000);
});

describe('extractToStaging: benign archives', () => {
  it('stages files with masked modes, sizes and digests, then moves them by rename', async () => {
    const staged = await extractToStaging(corpus('benign.tar.gz'), dest);
    expect(staged.staging.startsWith(join(dest, '.rulesctl-staging-'))).toBe(true);
    expect(staged.files.map((f) => [f.path, f.mode.toString(8), f.size])).toEqual([
      ['falco_rules.yaml', '644', 23],
      ['rules.d/extra.yaml', '644', 38],
      ['libdummy.so', '755', 3],
    ]);
    expect(staged.files[0]!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(tree(dest)).toHaveLength(1 + 4); // the staging dir and its 4 paths
    await moveStagedInto(staged);
    expect(tree(dest)).toEqual(['falco_rules.yaml', 'libdummy.so', 'rules.d', 'rules.d/extra.yaml']);
    expect(readFileSync(join(dest, 'falco_rules.yaml'), 'utf8')).toBe('- list: a\n  items: [x]\n');
  });

  it.each([
    ['long-name-pax.tar.gz', /_rules\.yaml$/],
    ['long-name-gnu.tar.gz', /^plugins\/b{120}\.so$/],
    ['trailing-garbage.tar.gz', /^falco_rules\.yaml$/],
  ])('accepts %s', async (name, path) => {
    const staged = await extractToStaging(corpus(name), dest);
    expect(staged.files).toHaveLength(1);
    expect(staged.files[0]!.path).toMatch(path);
    if (name === 'long-name-pax.tar.gz') expect(staged.files[0]!.path.length).toBeGreaterThan(100);
  });
});

describe('extractToStaging: the destination', () => {
  it('refuses to write through a symlink already in the destination', async () => {
    const outside = join(root, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(dest, 'rules.d'));
    await expect(extractToStaging(corpus('benign.tar.gz'), dest)).rejects.toThrow(/"rules.d\/": it would write through or replace the existing symlink/);
    expect(readdirSync(outside)).toEqual([]);
    expect(tree(dest)).toEqual(['rules.d']);
  });

  it('refuses to replace a directory of the destination with a file', async () => {
    mkdirSync(join(dest, 'falco_rules.yaml'));
    await expect(extractToStaging(corpus('benign.tar.gz'), dest)).rejects.toMatchObject({
      code: 'ERR_UNSAFE_ARCHIVE',
      entry: 'falco_rules.yaml',
      reason: expect.stringContaining('replace the directory'),
    });
  });

  it('enforces a configured byte budget while streaming', async () => {
    await expect(extractToStaging(corpus('benign.tar.gz'), dest, { maxBytes: 30 })).rejects.toThrow(/"rules.d\/extra.yaml": the archive holds more than 30 bytes/);
    await expect(extractToStaging(corpus('benign.tar.gz'), dest, { maxEntries: 2 })).rejects.toThrow(/more than 2 entries/);
    expect(tree(dest)).toEqual([]);
  });

  it('requires an existing destination', async () => {
    await expect(extractToStaging(corpus('benign.tar.gz'), join(root, 'missing'))).rejects.toThrow(/cannot use directory .* as install destination/);
  });

  it('replaces an existing regular file when moving into place', async () => {
    writeFileSync(join(dest, 'falco_rules.yaml'), 'old');
    await moveStagedInto(await extractToStaging(corpus('benign.tar.gz'), dest));
    expect(readFileSync(join(dest, 'falco_rules.yaml'), 'utf8')).toBe('- list: a\n  items: [x]\n');
  });
});

describe('safeRelativePath', () => {
  it('normalizes benign names and refuses escapes and excessive depth', async () => {
    const { safeRelativePath } = await import('../../../src/artifact/archive-paths.js');
    expect(safeRelativePath('./a//b/./c.yaml')).toBe('a/b/c.yaml');
    expect(safeRelativePath('./')).toBe('');
    expect(() => safeRelativePath('C:evil')).toThrow(/absolute paths/);
    expect(() => safeRelativePath('a\\..\\b')).toThrow(/backslashes/);
    expect(() => safeRelativePath('a/..')).toThrow(/"\.\." path components/);
    expect(() => safeRelativePath(`${'d/'.repeat(64)}f`)).toThrow(/deeper than 64 levels/);
  });
});
