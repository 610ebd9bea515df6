import { resolve } from 'node:path';
import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { ResolvedSettings } from '../../../config/load.js';
import { install, type InstallRequest, type InstallResult, type InstalledArtifact } from '../../../install/install.js';
import { defaultTrustedRoot } from '../../../signature/default-root.js';
import type { TrustedRootSource } from '../../../signature/trusted-root.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { createRegistryAccess, homeOf, loadSettings } from '../../context.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';
import type { Runtime } from '../../runtime.js';
import { indexChoiceFor } from '../../settings-context.js';

export { indexChoiceFor };
import { hostPlatform as hostPlatformOf } from '../../../oci/platform.js';

const BOOL_WORD = /^(1|0|t|f|T|F|true|false|TRUE|FALSE|True|False)$/;
const PLATFORM = /^([a-z]+)\/([a-z0-9_]+)$/;

/** The host platform in Go's names (`linux/amd64`), falcoctl's `--platform` default. */
export function hostPlatform(): string {
  const p = hostPlatformOf();
  return `${p.os}/${p.architecture}`;
}

/** cosign's trusted root for this command's environment (src/signature/default-root.ts). */
export function trustedRootFor(rt: Runtime): TrustedRootSource {
  return defaultTrustedRoot(rt.io.env, homeOf(rt));
}

/** `rulesctl artifact install [REF...]` (spec §3, §6, §9; issue 5). */
export function installCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('install')
    .description('Install artifacts and their dependencies')
    .argument('[ref...]', 'index names (falco-rules, falco-rules:3, falco-rules:~3.1) or full references (ghcr.io/falcosecurity/rules/falco-rules:3); default artifact.install.refs')
    .option('--rulesfiles-dir <dir>', 'directory where to install rules (default "/etc/falco")')
    .option('--plugins-dir <dir>', 'directory where to install plugins (default "/usr/share/falco/plugins")')
    .option('--assets-dir <dir>', 'directory where to install assets (default "/etc/falco/assets")')
    .option('--state-dir <dir>', 'directory of the artifact state shared with follow (default "/var/lib/falcoctl")')
    .option('--allowed-types <types>', 'comma list of artifact types that can be installed (rulesfile, plugin, asset); repeatable', (v: string, prev?: string) => (prev ? `${prev},${v}` : v))
    .option('--platform <os/arch>', `os and architecture of the plugins to install (default "${hostPlatform()}")`)
    .option('--plain-http', 'allow plain HTTP connections to the registry', false)
    .option('--resolve-deps [bool]', 'install the dependencies of the artifacts (default true; --resolve-deps=false disables)')
    .option('--no-verify', 'skip signature verification')
    .option('--falco-versions <url>', "Falco's /versions URL: refuse artifacts this Falco cannot load (rulesctl)")
    .option('--engine-version <version>', 'Falco engine version (0.57.0 or 57): refuse rules it cannot load (rulesctl)')
    .option('--lock <file>', 'lock file: written after the install; read with --frozen (rulesctl)')
    .option('--frozen', 'install exactly the digests of --lock, fail if it cannot serve the refs (rulesctl)', false)
    .addHelpText('after', '\nExamples:\n  rulesctl artifact install falco-rules:3\n  rulesctl artifact install k8saudit-rules --rulesfiles-dir /tmp/rules --plugins-dir /tmp/plugins\n  rulesctl artifact install ghcr.io/falcosecurity/rules/falco-rules:3 --lock rulesctl.lock.json');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt, args, c) => {
    const refs = fixResolveDepsArgument(c, [...((args[0] as string[] | undefined) ?? [])]);
    const settings = await loadSettings(rt, c, 'artifact install');
    const request = parseInstallRequest(rt, c, settings, refs);
    const access = createRegistryAccess(rt, settings, { plainHttp: c.opts().plainHttp === true });
    try {
      const indexes = await indexChoiceFor(rt, settings);
      const result = await install(request, {
        targets: access.targets, index: indexes.full, localIndex: indexes.local,
        logger: rt.logger, trustedRoot: trustedRootFor(rt),
      });
      printResult(rt.io.stdout, rt.output, result, formatInstallResult);
    } finally {
      await access.close();
    }
  }));
}

/**
 * `--resolve-deps` takes an optional value, so commander reads `--resolve-deps falco-rules` as a
 * value; cobra bool flags only take `=value`. A non-boolean value is put back among the refs.
 */
function fixResolveDepsArgument(c: Command, refs: string[]): string[] {
  const v = c.opts().resolveDeps as unknown;
  if (typeof v === 'string' && !BOOL_WORD.test(v)) {
    c.setOptionValueWithSource('resolveDeps', true, 'cli');
    return [v, ...refs];
  }
  return refs;
}

/** Flags + settings → InstallRequest; usage errors for bad values (style practice 2). */
export function parseInstallRequest(rt: Runtime, c: Command, settings: ResolvedSettings, argRefs: string[]): InstallRequest {
  const o = c.opts() as Record<string, unknown>;
  const refs = argRefs.length > 0 ? argRefs : settings.get('artifact.install.refs');
  const platform = String(o.platform ?? hostPlatform());
  const m = PLATFORM.exec(platform);
  if (m === null) throw new RulesctlError(ErrorCodes.USAGE, `invalid platform "${platform}": expected os/arch, e.g. linux/amd64`);
  if (o.frozen === true && typeof o.lock !== 'string') {
    throw new RulesctlError(ErrorCodes.USAGE, '--frozen needs --lock <file>', { hint: 'pass the lock file written by an earlier install' });
  }
  const abs = (p: string) => resolve(rt.io.cwd, p);
  return {
    refs,
    rulesfilesDir: abs(settings.get('artifact.install.rulesfilesdir')),
    pluginsDir: abs(settings.get('artifact.install.pluginsdir')),
    assetsDir: abs(settings.get('artifact.install.assetsdir')),
    stateDir: abs(settings.get('artifact.install.statedir')),
    allowedTypes: settings.get('artifact.allowedTypes'),
    platform: { os: m[1]!, architecture: m[2]! },
    resolveDeps: settings.get('artifact.install.resolveDeps'),
    noVerify: settings.get('artifact.noVerify'),
    ...(typeof o.falcoVersions === 'string' ? { falcoVersions: o.falcoVersions } : {}),
    ...(typeof o.engineVersion === 'string' ? { engineVersion: o.engineVersion } : {}),
    ...(typeof o.lock === 'string' ? { lockFile: abs(o.lock) } : {}),
    ...(o.frozen === true ? { frozen: true } : {}),
    signal: rt.io.signal,
  };
}

function line(verb: string, a: InstalledArtifact): string {
  const files = (verb === 'Installed' ? a.changedFiles : a.files).map((f) => `\n    ${f}`).join('');
  return `${verb} ${a.name} ${a.version} (${a.type}) from ${a.ref}@${a.digest}${files}`;
}

/** Text form of an install: what was written where, and what was already there. */
export function formatInstallResult(r: InstallResult): string {
  const out = [...r.installed.map((a) => line('Installed', a)), ...r.unchanged.map((a) => line('Unchanged', a))];
  if (r.installed.length === 0) out.push(`Nothing changed: ${r.unchanged.length === 1 ? 'the artifact is' : `all ${r.unchanged.length} artifacts are`} already installed.`);
  if (r.lockFile !== undefined) out.push(`Lock file: ${r.lockFile}`);
  return out.join('\n');
}
