// Small statistics and formatting helpers shared by the benchmarks.

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(x, digits = 3) {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** Parses `256M`, `1G`, `512K`, `1000` (bytes) into bytes (binary units). */
export function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(i?B)?$/i.exec(String(s).trim());
  if (!m) throw new Error(`invalid size "${s}": expected e.g. 256M or 1G`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()];
  return Math.round(Number(m[1]) * mult);
}

export function humanSize(bytes) {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} B`;
}

/** Renders rows (arrays of strings) as an aligned plain-text table; first row is the header. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Minimal `--flag value` / `--flag=value` parser. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument "${argv[i]}"`);
    const key = m[1].replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${m[1]}`);
    if (typeof defaults[key] === 'boolean') out[key] = m[2] === undefined ? true : m[2] !== 'false';
    else out[key] = m[2] ?? argv[++i];
  }
  return out;
}
