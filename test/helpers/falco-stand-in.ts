import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import yaml from 'js-yaml';

/**
 * A Falco stand-in for tests (Falco cannot run here), behaving as falcoctl.md §11 documents:
 * - the web server: `GET /versions` (compact JSON, keys sorted, as nlohmann `dump()`) and
 *   `GET /healthz` → `{"status": "ok"}`;
 * - the rules watcher: watches the configured rules files and directories as Falco does (a file by
 *   its inode, see `startWatchers`), and after `debounceMs` (100) without events "reloads": reads every file (`.yaml`/`.yml` only in directories), parses it
 *   as YAML and checks its structure, recording every read and every reload; `reload()` is SIGHUP;
 * - `restartDownMs`: the web server is down for a while after each reload, as during Falco's restart;
 * - `hammer`: reads the files every few ms and records any read that is not a whole valid file, so a
 *   test can assert that no read ever saw a partial file.
 */

export interface FalcoVersionValues {
  default_driver_version: string;
  driver_api_version: string;
  driver_schema_version: string;
  /** Engine minor as a string, e.g. "63". */
  engine_version: string;
  engine_version_semver: string;
  falco_version: string;
  libs_version: string;
  plugin_api_version: string;
}

export const DEFAULT_FALCO_VERSIONS: FalcoVersionValues = {
  default_driver_version: '9.0.0+driver',
  driver_api_version: '8.0.0',
  driver_schema_version: '3.0.0',
  engine_version: '63',
  engine_version_semver: '0.63.0',
  falco_version: '0.42.0',
  libs_version: '0.22.0',
  plugin_api_version: '3.10.0',
};

export interface RulesRead {
  file: string;
  ok: boolean;
  error?: string;
  bytes: number;
  sha256: string;
  at: number;
}

export interface Reload {
  at: number;
  trigger: 'watch' | 'signal';
  ok: boolean;
  reads: RulesRead[];
}

export interface HammerOptions {
  /** Pause between rounds (default 1 ms). */
  intervalMs?: number;
  /** When given, a read is good only if its sha256 is in this set (catches valid-looking truncations). */
  knownGood?: Set<string>;
}

export interface FalcoStandInOptions {
  versions?: Partial<FalcoVersionValues>;
  /** `plugin_versions` (only present when given, like Falco with plugins loaded). */
  pluginVersions?: Record<string, string>;
  /** Rules files and directories, like Falco's `rules_files`. */
  rulesFiles?: string[];
  debounceMs?: number;
  hammer?: HammerOptions;
  /**
   * After each reload the web server is down (connection refused) this long, as Falco's in-process
   * restart stops it and starts it again only once the new rules are loaded. Default 0: always up.
   */
  restartDownMs?: number;
}

export interface FalcoStandIn {
  url: string;
  versionsUrl: string;
  healthzUrl: string;
  requests: { method: string; path: string }[];
  reads: RulesRead[];
  reloads: Reload[];
  hammerReads: number;
  hammerFailures: RulesRead[];
  setHealthy(healthy: boolean): void;
  /** What `/versions` reports as `plugin_versions` from now on (Falco restarted with other plugins). */
  setPluginVersions(pluginVersions: Record<string, string>): void;
  /** SIGHUP: reload now. */
  reload(): Reload;
  /** Resolves at the next reload after the call satisfying `pred` (rejects after `timeoutMs`). */
  waitForReload(pred?: (r: Reload) => boolean, timeoutMs?: number): Promise<Reload>;
  startHammer(opts?: HammerOptions): void;
  stopHammer(): Promise<void>;
  close(): Promise<void>;
}

/** Sorted-key compact JSON, as nlohmann::json `dump()` (std::map ordering). */
export function versionsBody(versions: FalcoVersionValues, pluginVersions?: Record<string, string>): string {
  const all: Record<string, unknown> = { ...versions };
  if (pluginVersions) all.plugin_versions = sortKeys(pluginVersions);
  return JSON.stringify(sortKeys(all));
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k] as T]));
}

const ITEM_KEYS = ['rule', 'macro', 'list', 'required_engine_version', 'required_plugin_versions'];

/** Minimal structural check of a Falco rules file; returns an error message or undefined. */
export function checkRulesText(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    return `yaml: ${(err as Error).message.split('\n')[0]}`;
  }
  if (doc === undefined || doc === null) return undefined;
  if (!Array.isArray(doc)) return 'rules content is not yaml array of objects';
  for (const [i, item] of doc.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `item ${i} is not a map`;
    const m = item as Record<string, unknown>;
    const kind = ITEM_KEYS.find((k) => k in m);
    if (!kind) return `item ${i} has none of ${ITEM_KEYS.join('/')}`;
    const need = kind === 'rule' ? (m.append || m.override ? [] : ['desc', 'condition', 'output', 'priority']) : kind === 'macro' ? ['condition'] : [];
    for (const k of need) if (typeof m[k] !== 'string' || m[k] === '') return `item ${i} (${kind}) lacks ${k}`;
    if (kind === 'list' && !Array.isArray(m.items)) return `item ${i} (list) lacks items`;
  }
  return undefined;
}

function readRules(file: string, knownGood?: Set<string>): RulesRead {
  const at = Date.now();
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    return { file, ok: false, error: (err as Error).message, bytes: 0, sha256: '', at };
  }
  const sha256 = createHash('sha256').update(buf).digest('hex');
  let error = checkRulesText(buf.toString('utf8'));
  if (!error && knownGood && !knownGood.has(sha256)) error = 'content is neither of the expected versions';
  return { file, ok: error === undefined, ...(error ? { error } : {}), bytes: buf.length, sha256, at };
}

/** The files Falco would load now: configured files, then sorted .yaml/.yml entries of directories. */
function currentFiles(rulesFiles: string[]): string[] {
  return rulesFiles.flatMap((p) => {
    const isDir = (() => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    })();
    if (!isDir) return [p];
    return readdirSync(p)
      .filter((n) => ['.yaml', '.yml'].includes(extname(n)))
      .sort()
      .map((n) => join(p, n));
  });
}

/** Starts the stand-in on 127.0.0.1 (a free port). */
export async function startFalcoStandIn(opts: FalcoStandInOptions = {}): Promise<FalcoStandIn> {
  const versions = { ...DEFAULT_FALCO_VERSIONS, ...opts.versions };
  let body = versionsBody(versions, opts.pluginVersions);
  const rulesFiles = opts.rulesFiles ?? [];
  let healthy = true;
  const waiters: { pred: (r: Reload) => boolean; resolve: (r: Reload) => void }[] = [];

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    self.requests.push({ method: req.method ?? '', path });
    if (path === '/versions') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else if (path === '/healthz') {
      if (healthy) res.writeHead(200, { 'content-type': 'application/json' }).end('{"status": "ok"}');
      else res.writeHead(500, { 'content-type': 'application/json' }).end('{"status": "error"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  let restarts = Promise.resolve();
  const restartServer = (downMs: number) => {
    restarts = restarts.then(async () => {
      if (closed) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, downMs));
      if (!closed) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    });
  };

  const doReload = (trigger: Reload['trigger']): Reload => {
    const reads = currentFiles(rulesFiles).map((f) => readRules(f));
    watchers.rewatch();
    self.reads.push(...reads);
    const r: Reload = { at: Date.now(), trigger, ok: reads.every((x) => x.ok), reads };
    self.reloads.push(r);
    if (opts.restartDownMs) restartServer(opts.restartDownMs);
    for (const w of [...waiters]) {
      if (w.pred(r)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
    return r;
  };

  const watchers = startWatchers(rulesFiles, opts.debounceMs ?? 100, () => doReload('watch'));
  let hammer: { stop: () => Promise<void> } | undefined;

  const self: FalcoStandIn = {
    url,
    versionsUrl: `${url}/versions`,
    healthzUrl: `${url}/healthz`,
    requests: [],
    reads: [],
    reloads: [],
    hammerReads: 0,
    hammerFailures: [],
    setHealthy: (h) => void (healthy = h),
    setPluginVersions: (p) => void (body = versionsBody(versions, p)),
    reload: () => doReload('signal'),
    waitForReload: (pred = () => true, timeoutMs = 5000) =>
      new Promise<Reload>((resolve, reject) => {
        const w = { pred, resolve: (r: Reload) => (clearTimeout(timer), resolve(r)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching reload within ${timeoutMs} ms (${self.reloads.length} reloads so far)`));
        }, timeoutMs);
        waiters.push(w);
      }),
    startHammer: (h = opts.hammer ?? {}) => {
      hammer ??= startHammer(rulesFiles, h, self);
    },
    stopHammer: async () => {
      await hammer?.stop();
      hammer = undefined;
    },
    close: async () => {
      await self.stopHammer();
      watchers.close();
      closed = true;
      await restarts;
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  if (opts.hammer) self.startHammer(opts.hammer);
  return self;
}

/**
 * Watches like Falco's restart handler (falcoctl.md §11 "Falco reload"): a listed file by itself
 * (IN_CLOSE_WRITE|IN_MOVE_SELF|IN_DELETE_SELF), a listed directory for entries created, deleted or
 * moved (IN_CREATE|IN_DELETE|IN_MOVE). Node's fs.watch reports IN_MOVE_SELF/IN_DELETE_SELF and
 * entry events as `rename`, but IN_MODIFY and IN_ATTRIB both as `change`, so a file's `change`
 * counts only when the watched inode is still at the path with new bytes (a write, not a link
 * count change). A rename over a file is seen only when the old inode loses its last link, as in
 * Falco. Falco restarts after a reload and watches the paths again: `rewatch()` does that.
 */
function startWatchers(rulesFiles: string[], debounceMs: number, onQuiet: () => void): { rewatch(): void; close(): void } {
  let timer: NodeJS.Timeout | undefined;
  const bump = () => {
    clearTimeout(timer);
    timer = setTimeout(onQuiet, debounceMs);
  };
  let watchers: FSWatcher[] = [];
  const watchAll = () => {
    for (const w of watchers) w.close();
    watchers = rulesFiles.flatMap((p) => watchLikeFalco(p, bump) ?? []);
  };
  watchAll();
  return {
    rewatch: watchAll,
    close: () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

/** One watch as Falco adds it; undefined for a missing path (inotify_add_watch fails too). */
function watchLikeFalco(p: string, bump: () => void): FSWatcher | undefined {
  let st: Stats;
  try {
    st = statSync(p);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) {
    return watch(p, (event, file) => {
      if (event === 'rename' && ['.yaml', '.yml'].includes(extname(file?.toString() ?? ''))) bump();
    });
  }
  let seen = { mtimeMs: st.mtimeMs, size: st.size };
  return watch(p, (event) => {
    if (event === 'rename') return bump();
    let now: Stats;
    try {
      now = statSync(p);
    } catch {
      return;
    }
    if (now.ino !== st.ino || (now.mtimeMs === seen.mtimeMs && now.size === seen.size)) return;
    seen = { mtimeMs: now.mtimeMs, size: now.size };
    bump();
  });
}

function startHammer(rulesFiles: string[], opts: HammerOptions, self: FalcoStandIn): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const f of currentFiles(rulesFiles)) {
        const r = readRules(f, opts.knownGood);
        self.hammerReads++;
        if (!r.ok) self.hammerFailures.push(r);
      }
      await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 1));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
