// Runs a command and measures its wall time, CPU time and peak RSS (GNU `/usr/bin/time` when
// installed — it reports the largest ru_maxrss among the processes it waited for — else polling
// /proc/<pid>/status VmHWM of the direct child).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = existsSync(GNU_TIME);
let counter = 0;
const active = new Map(); // child → its stats file
process.on('exit', () => { for (const f of active.values()) rmSync(f, { force: true }); });

/** Kills (SIGTERM) the processes `measure` is running now: for cleanup on a signal. */
export function killActive() {
  for (const child of active.keys()) child.kill('SIGTERM');
}

/**
 * Runs `cmd args` (no shell unless you pass `bash -c`), resolves to
 * `{ seconds, rssKiB, userSeconds, sysSeconds, code, stdout, stderr }`; rejects when the exit code
 * is not 0 (stderr quoted). `stdout` is kept (small outputs: JSON lines from helpers).
 */
export function measure(cmd, args, { cwd, env, timeoutMs = 30 * 60_000 } = {}) {
  const statsFile = join(tmpdir(), `bench-time-${process.pid}-${++counter}.txt`);
  const [file, argv] = hasGnuTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', statsFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    active.set(child, statsFile);
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const poll = hasGnuTime ? undefined : setInterval(() => { hwm = Math.max(hwm, vmHwm(child.pid)); }, 20);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); if (poll) clearInterval(poll); reject(err); });
    child.once('close', (code, signal) => {
      active.delete(child);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      let rssKiB = hwm || NaN;
      let userSeconds = NaN;
      let sysSeconds = NaN;
      if (hasGnuTime) {
        try {
          const last = readFileSync(statsFile, 'utf8').trim().split('\n').pop() ?? '';
          [rssKiB, userSeconds, sysSeconds] = last.split(' ').map(Number);
        } catch { /* no stats: command did not run */ }
        rmSync(statsFile, { force: true });
      }
      if (code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${stderr.trim().slice(-2000)}`));
        return;
      }
      resolve({ seconds, rssKiB, userSeconds, sysSeconds, code, stdout, stderr });
    });
  });
}

function vmHwm(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
