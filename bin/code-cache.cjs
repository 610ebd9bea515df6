'use strict';
// Loads the CLI bundle with V8's code cache, like Node 22's module.enableCompileCache() but for
// Node 20 (which has none for its module loaders): `vm.Script` compiles the bundle from the
// bytecode saved by an earlier run instead of parsing and compiling 1.5 MB of JavaScript again
// (~25 ms of every command on this machine; bench/install.mjs).
//
// One cache per command (dist/cli-bundle/main.cjs.<command>.cache, e.g. `artifact-install`):
// V8 deserializes a whole cache before the first line runs, so `--version` should not pay for
// what `artifact install` compiled. `npm run build` seeds them (scripts/train-code-cache.mjs); a
// command without one, or whose cache was made by another build or is rejected by V8 (another V8
// version or other flags), compiles from source and, if it exits 0, saves what it compiled at exit. Writes go to a
// temporary file renamed over the old one, so a concurrent run reads the old cache or the new
// one; in a read-only install nothing is written. RULESCTL_CODE_CACHE=0 turns reading and writing
// off; =refresh rewrites the cache at every exit 0 (training one command by more than one path).
//
// A cache file is a header line, `<build id> <CRC-32 of the rest>` (the id is the bundle's first
// line, from scripts/bundle.mjs), then V8's data. V8 checks the source only by its length, so a
// cache is used only with the build that made it; and V8 does not checksum the data in release
// builds, it aborts the process on a damaged one (`Fatal error ... unreachable code`, at every run
// since the cache is then never replaced), so damaged data is never handed to it. A CRC-32 is for
// accidents (whoever can write the cache can write the bundle): ~0.8 ms here with loading
// node:zlib, where node:crypto's SHA-256 cost 4-7 ms, most of it loading node:crypto.
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'cli-bundle', 'main.cjs');
const TOP = new Set(['artifact', 'index', 'registry', 'config', 'version', 'completion', 'help']);
const WORD = /^[a-z][a-z-]*$/;

/** `artifact-install` for `--log-level warn artifact install falco-rules`; `version` for `--version`. */
function commandOf(argv) {
  const i = argv.findIndex((a) => TOP.has(a));
  if (i < 0) return argv.includes('--version') ? 'version' : 'root';
  const sub = argv[i + 1];
  return sub !== undefined && WORD.test(sub) ? `${argv[i]}-${sub}` : argv[i];
}

const cachePath = (command) => `${BUNDLE}.${command}.cache`;

const crc32 = (data) => require('node:zlib').crc32(data).toString(16).padStart(8, '0');
const HEADER_BYTES = 16 + 1 + 8 + 1;

/** V8's data of the cache at `path` if it was made for build `id` and is whole, else undefined. */
function readCache(path, id) {
  let buf;
  try {
    buf = readFileSync(path);
  } catch {
    return undefined;
  }
  if (buf.length <= HEADER_BYTES) return undefined;
  const [bid, sum] = buf.subarray(0, HEADER_BYTES - 1).toString('latin1').split(' ');
  const data = buf.subarray(HEADER_BYTES);
  return bid === id && buf[HEADER_BYTES - 1] === 0x0a && sum === crc32(data) ? data : undefined;
}

function writeCache(path, id, script) {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${id} ${crc32(data)}\n`, 'latin1'), data]), { mode: 0o644 });
    renameSync(tmp, path);
  } catch {
    // Read-only or full file system, or no permission: the next run compiles as this one did.
    try { rmSync(tmp, { force: true }); } catch { /* nothing to clean */ }
  }
}

/**
 * Compiles and evaluates dist/cli-bundle/main.cjs (with the code cache of the command `argv`
 * names, unless `env` has RULESCTL_CODE_CACHE=0) and returns its exports (`main`).
 */
function loadCli(argv, env) {
  const source = readFileSync(BUNDLE, 'latin1'); // ASCII only (scripts/bundle.mjs makes it so)
  const id = /^\/\/ rulesctl-bundle ([0-9a-f]{16})\n/.exec(source.slice(0, 40))?.[1];
  const mode = env.RULESCTL_CODE_CACHE;
  const path = mode === '0' || id === undefined ? undefined : cachePath(commandOf(argv));
  const cachedData = path === undefined ? undefined : readCache(path, id);
  // Wrapped on the first line, so line numbers in stack traces are the file's.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    ...(cachedData !== undefined ? { cachedData } : {}),
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  if (path !== undefined && (cachedData === undefined || script.cachedDataRejected || mode === 'refresh')) {
    process.once('exit', (code) => {
      if (code === 0) writeCache(path, id, script);
    });
  }
  return module.exports;
}

module.exports = { loadCli, commandOf, cachePath, BUNDLE };
