// Probes whether the built CLI's `registry push` / `registry pull` work yet (they are being
// finished in parallel), by pushing and pulling a small plugin on the benchmark's registry.
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeTarGz } from './oci-files.mjs';

const run = promisify(execFile);

// `--version=X`: works with every build. (A build of 2026-11-23 14:06 UTC let the root command's
// --version flag take `--version X`: `registry push` printed rulesctl's version and exited 0
// without pushing; fixed by 14:22.)
const pushArgs = (ref, file) => ['registry', 'push', ref, file, '--type', 'plugin', '--version=1.0.0', '--platform', 'linux/amd64', '--plain-http'];
const pullArgs = (ref, dir) => ['registry', 'pull', ref, '--plain-http', '--dest-dir', dir];

/**
 * Resolves to `{ push, pull, pushWhy?, pullWhy?, pushArgs, pullArgs }`; `push`/`pull` are true when
 * a probe round trip through `bin/rulesctl.cjs` succeeded and the pulled file has the pushed bytes.
 */
export async function cliSupports(bin, reg, dir) {
  const out = { push: false, pull: false, pushArgs, pullArgs };
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'probe.tar.gz');
  await writeTarGz(file, 64 * 1024); // a real tar.gz: anything else is packed into one, so pulled bytes would differ
  const bytes = await readFile(file);
  const ref = `${reg.host}/bench/cli-probe:1.0.0`;
  try {
    await run(process.execPath, [bin, ...pushArgs(ref, file)], { timeout: 60_000 });
    const res = await fetch(`${reg.url}/v2/bench/cli-probe/manifests/1.0.0`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } });
    if (res.status !== 200) throw new Error(`exit 0 but the tag is not there (HEAD ${res.status})`);
    out.push = true;
  } catch (err) {
    out.pushWhy = firstLine(err);
    return { ...out, pullWhy: 'needs push' };
  }
  const dest = join(dir, 'pulled');
  await mkdir(dest, { recursive: true });
  try {
    await run(process.execPath, [bin, ...pullArgs(ref, dest)], { timeout: 60_000 });
    const files = await readdir(dest);
    const same = await Promise.all(files.map(async (f) => (await readFile(join(dest, f))).equals(bytes)));
    if (!same.includes(true)) throw new Error(`exit 0 but no pulled file has the pushed bytes (${files.join(', ') || 'empty'})`);
    out.pull = true;
  } catch (err) {
    out.pullWhy = firstLine(err);
  }
  return out;
}

function firstLine(err) {
  const text = String(err?.stderr || err?.message || err).trim().split('\n').filter((l) => !/ INFO /.test(l));
  return (text.find((l) => /error/i.test(l)) ?? text[0] ?? 'failed').slice(0, 200);
}
