// Describes the machine a benchmark ran on: CPUs, memory, node, load average, tool versions.
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

function version(cmd, args, pick = (s) => s.split('\n')[0]) {
  try {
    return pick(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
  } catch {
    return 'not installed';
  }
}

/** The current 1/5/15-minute load average, formatted. */
export function load() {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

/** One paragraph describing the machine (print it with every result). */
export function machineInfo({ tools = [] } = {}) {
  const lines = [
    `date: ${new Date().toISOString()}`,
    `cpus: ${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    `memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB total, ${(freemem() / 1024 ** 3).toFixed(1)} GiB free`,
    `node: ${process.version}`,
    `load average (1/5/15 min): ${load()}`,
  ];
  const known = {
    skopeo: () => version('skopeo', ['--version']),
    curl: () => version('curl', ['--version']),
    'docker-registry': () => version('dpkg-query', ['-W', '-f', '${Version}', 'docker-registry'], (s) => `docker-registry ${s}`),
  };
  for (const t of tools) if (known[t]) lines.push(`${t}: ${known[t]()}`);
  return lines.join('\n');
}
