import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';
import { createRegistryAccess, homeOf, loadSettings } from '../../context.js';
import type { Runtime } from '../../runtime.js';
import { followScheduleConflict } from '../../../config/checks.js';
import { parseGoDuration } from '../../../config/duration.js';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import { parseSignalName } from '../../../follow/reload.js';
import { followArtifacts } from '../../../follow/run.js';
import { createSchedule, parseStartupBehavior } from '../../../follow/schedule.js';
import { defaultTrustedRoot } from '../../../signature/default-root.js';
import type { ResolvedSettings } from '../../../config/load.js';

// Repeated --allowed-types accumulate (falcoctl); one comma string for the settings parser.
const collect = (v: string, prev?: string) => (prev ? `${prev},${v}` : v);

/** `rulesctl artifact follow [REF...]` (falcoctl.md §6, §11; the sidecar of §13). */
export function followCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('follow')
    .description('Follow artifacts and install new versions as they are published')
    .argument('[ref...]', 'artifacts to follow (index names or full refs); default artifact.follow.refs')
    .option('-e, --every <duration>', 'interval between checks (Go duration)', '168h0m0s')
    .option('--cron <expr>', 'cron schedule for checks (excludes --every)')
    .option('--startup-behavior <mode>', 'first check: skip, jitter or immediate', 'jitter')
    .option('--falco-versions <url>', "Falco's /versions endpoint", 'http://localhost:8765/versions')
    .option('--rulesfiles-dir <dir>', 'where rules files are placed', '/etc/falco')
    .option('--plugins-dir <dir>', 'where plugins are placed', '/usr/share/falco/plugins')
    .option('--assets-dir <dir>', 'where assets are placed', '/etc/falco/assets')
    .option('--state-dir <dir>', 'where installed digests (and the last-good set) are kept', '/var/lib/falcoctl')
    .option('--tmp-dir <dir>', 'where artifacts are downloaded before staging (default: OS temp dir)')
    .option('--allowed-types <types>', 'comma list of artifact types that may be installed (repeatable)', collect)
    .option('--plain-http', 'talk to registries over plain HTTP')
    .option('--no-verify', 'skip signature verification')
    .option('--timeout <duration>', "how long to retry reading Falco's versions at start, and to wait for a healthy /healthz after a swap (--health-url)", '2m0s')
    .option('--listen <addr>', 'rulesctl: host:port serving /healthz and /metrics')
    .option('--health-url <url>', "rulesctl: Falco's /healthz, checked after each update (rollback when unhealthy)")
    .addOption(new Option('--reload-signal <sig>', 'rulesctl: signal sent to Falco after an update').choices(['SIGHUP', 'SIGUSR1', 'SIGUSR2']))
    .option('--falco-pid-file <file>', "rulesctl: file holding Falco's pid (for --reload-signal)")
    .option('--health-settle <duration>', 'rulesctl: wait between the swap and the health check', '1s')
    .addHelpText('after', '\nExamples:\n  rulesctl artifact follow falco-rules:3 --every 6h\n  rulesctl artifact follow ghcr.io/falcosecurity/rules/falco-rules:3 --cron "0 */6 * * *" --allowed-types rulesfile\n  rulesctl artifact follow --listen :8766 --health-url http://localhost:8765/healthz   # refs from artifact.follow.refs')
    .action(action(io, async (rt, args, cmd) => runFollow(rt, (args[0] as string[] | undefined) ?? [], cmd)));
}

interface FollowFlags {
  timeout: string;
  plainHttp?: boolean;
  listen?: string;
  healthUrl?: string;
  reloadSignal?: string;
  falcoPidFile?: string;
  healthSettle: string;
}

function durationFlag(value: string, flag: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined || ms < 0) throw new RulesctlError(ErrorCodes.USAGE, `invalid argument "${value}" for "${flag}" flag: time: invalid duration "${value}"`);
  return ms;
}

/** `--x` when given on the command line, else the rulesctl-only setting. */
function flagOr(cmd: Command, attr: keyof FollowFlags, settings: ResolvedSettings, key: string): string {
  const v = (cmd.opts() as FollowFlags)[attr];
  if (cmd.getOptionValueSource(attr) === 'cli' && typeof v === 'string') return v;
  return String(settings.get(key) ?? '');
}

async function runFollow(rt: Runtime, args: string[], cmd: Command): Promise<void> {
  const flags = cmd.opts() as FollowFlags;
  const settings = await loadSettings(rt, cmd, 'artifact follow');
  if (settings.errors.length > 0) throw new RulesctlError(ErrorCodes.INVALID_CONFIG, settings.errors.join('\n'));
  const conflict = followScheduleConflict(settings);
  if (conflict) throw new RulesctlError(ErrorCodes.USAGE, conflict);
  const cron = settings.get('artifact.follow.cron');
  const schedule = createSchedule(cron ? { cron } : { everyMs: settings.get('artifact.follow.every') });
  const startupBehavior = parseStartupBehavior(String(settings.get('artifact.follow.startupBehavior')));
  const inputs = args.length > 0 ? args : settings.get('artifact.follow.refs');
  if (inputs.length === 0) {
    throw new RulesctlError(ErrorCodes.USAGE, 'no artifacts to follow', { hint: 'give references as arguments or set artifact.follow.refs in the config file' });
  }
  const healthUrl = flagOr(cmd, 'healthUrl', settings, 'artifact.follow.healthurl');
  const listen = flagOr(cmd, 'listen', settings, 'artifact.follow.listen');
  const reloadSignal = flagOr(cmd, 'reloadSignal', settings, 'artifact.follow.reloadsignal');
  const pidFile = flagOr(cmd, 'falcoPidFile', settings, 'artifact.follow.pidfile');
  if (reloadSignal && !pidFile) throw new RulesctlError(ErrorCodes.USAGE, '--reload-signal needs --falco-pid-file');
  if (reloadSignal) parseSignalName(reloadSignal);
  const timeoutMs = durationFlag(flags.timeout, '--timeout');
  const settleMs = durationFlag(flags.healthSettle, '--health-settle');

  const access = createRegistryAccess(rt, settings, { plainHttp: flags.plainHttp === true });
  try {
    const result = await followArtifacts({
      refs: inputs, targets: access.targets, schedule, startupBehavior,
      falcoVersionsUrl: settings.get('artifact.follow.falcoversions'), timeoutMs,
      dirs: {
        rulesfile: settings.get('artifact.follow.rulesfilesdir'),
        plugin: settings.get('artifact.follow.pluginsdir'),
        asset: settings.get('artifact.follow.assetsdir'),
      },
      stateDir: settings.get('artifact.follow.statedir'),
      tmpDir: settings.get('artifact.follow.tmpdir') || rt.io.env.TMPDIR || tmpdir(),
      allowedTypes: settings.get('artifact.allowedTypes'),
      noVerify: settings.get('artifact.noVerify'), trustedRoot: defaultTrustedRoot(rt.io.env, homeOf(rt)),
      indexes: settings.get('indexes'), cacheDir: join(homeOf(rt), '.config', 'falcoctl'), proxyEnv: rt.io.env,
      settleMs,
      ...(listen ? { listen } : {}),
      ...(healthUrl ? { healthUrl } : {}),
      ...(reloadSignal ? { reloadSignal, pidFile } : {}),
      log: rt.logger, signal: rt.io.signal,
    });
    if (!result.stoppedCleanly) rt.logger.warn('Some followers were still running at the deadline');
  } finally {
    await access.close();
  }
}
