import { mkdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { ResolvedSettings } from '../../../config/load.js';
import { pullArtifact, type PullResult, type TargetPlatform } from '../../../artifact/pull.js';
import { orasPullArtifact } from '../../../oci/oras-cli/pull.js';
import { manifestReference, parseReference, type Reference } from '../../../oci/reference.js';
import type { CliIO } from '../../io.js';
import { createRegistryAccess, loadSettings } from '../../context.js';
import { addOutputOption } from '../../options/output.js';
import { addRegistryOptions, chooseBackend, collect, orasSessionFor, readPlatform, readRegistryOptions, type RegistryOptions } from '../../options/registry.js';
import { printResult } from '../../output/print.js';
import { progressFor } from '../../output/progress.js';
import type { Runtime } from '../../runtime.js';
import type { ActionWrapper } from '../register.js';

/** A parsed `registry pull` command line. */
export interface PullRequest {
  reference: string;
  ref: Reference;
  destDir: string;
  platform: TargetPlatform;
  extract: boolean;
  registry: RegistryOptions;
}

const EXAMPLES = `
Examples:
  # save falco_rules.yaml.tar.gz into the current directory
  rulesctl registry pull ghcr.io/falcosecurity/rules/falco-rules:latest

  # the arm64 build of a plugin, into /tmp/plugins
  rulesctl registry pull ghcr.io/falcosecurity/plugins/plugin/cloudtrail:0.12 --platform linux/arm64 -o /tmp/plugins

  # unpack the layer with the safe extractor instead (rulesctl), JSON result on stdout
  rulesctl registry pull localhost:5000/rules:0.1.0 --plain-http --dest-dir ./rules --extract --output json

Every byte is verified before the file is renamed into the destination: it never holds a partial or
unverified file.`;

/** `rulesctl registry pull REF` (falcoctl.md §3, §4, §15), plus `--extract`, `--output json` and the oras backend. */
export function pullCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('pull')
    .description('Pull a Falco artifact from an OCI registry into a directory')
    .argument('<ref>', 'hostname/repo[:tag|@digest]')
    .option('-o, --dest-dir <dir>', 'destination dir where to save the artifacts, created if missing (default: the current directory)')
    .option('--platform <os/arch>', 'os and architecture of the artifact in OS/ARCH format (default: the host\'s)', collect)
    .option('--extract', 'unpack the layer into the destination with the safe extractor (rulesctl)', false);
  addRegistryOptions(cmd);
  addOutputOption(cmd, { short: false });
  return cmd.addHelpText('after', EXAMPLES).action(action(io, async (rt, args, c) => {
    const request = parsePullRequest(args[0] as string, c.opts(), rt.io.cwd);
    await runPull(rt, c, request);
  }));
}

/** Turns the raw command line into a PullRequest; throws ERR_USAGE / ERR_INVALID_REFERENCE quoting the input. */
export function parsePullRequest(reference: string, o: Record<string, unknown>, cwd: string): PullRequest {
  const dest = typeof o.destDir === 'string' && o.destDir !== '' ? o.destDir : cwd;
  return {
    reference,
    ref: parseReference(reference),
    destDir: isAbsolute(dest) ? dest : resolve(cwd, dest),
    platform: readPlatform(o.platform as string[] | undefined),
    extract: o.extract === true,
    registry: readRegistryOptions(o),
  };
}

async function runPull(rt: Runtime, cmd: Command, req: PullRequest): Promise<void> {
  const settings = await loadSettings(rt, cmd);
  const created = await ensureDirectory(req.destDir);
  try {
    await pullInto(rt, settings, req);
  } catch (err) {
    // As oras' file store, which creates the directory only when it writes the file.
    if (created !== undefined) await rm(created, { recursive: true, force: true });
    throw err;
  }
}

async function pullInto(rt: Runtime, settings: ResolvedSettings, req: PullRequest): Promise<void> {
  const progress = progressFor(rt.io.stderr, rt.globals.logFormat);
  const opts = { platform: req.platform, destDir: req.destDir, extract: req.extract, signal: rt.io.signal };
  let result: PullResult;
  rt.logger.info('Preparing to pull artifact', { ref: req.reference });
  if (chooseBackend(req.registry, settings) === 'oras') {
    result = await orasPullArtifact(await orasSessionFor(rt, settings, req.registry, req.ref.registry), req.reference, opts);
  } else {
    const access = createRegistryAccess(rt, settings, req.registry);
    try {
      const target = await access.targets(req.ref);
      let update: ((bytes: number) => void) | undefined;
      result = await pullArtifact(target, manifestReference(req.ref), {
        ...opts,
        onProgress: (bytes) => {
          update ??= progress.start(`Pulling layer`, Number.POSITIVE_INFINITY);
          update(bytes);
        },
      });
      result = { ...result, reference: req.reference };
    } finally {
      progress.finish();
      await access.close();
    }
  }
  rt.logger.info(`Artifact pulled`, { digest: result.manifestDigest, files: result.files.map((f) => f.path) });
  printResult(rt.io.stdout, rt.output, result, (r) =>
    `Artifact pulled\nreference: ${r.reference}\ndigest: ${r.rootDigest}\ntype: ${r.type}\n${r.files.map((f) => `file: ${f.path}`).join('\n')}`);
}

/**
 * Creates the destination like oras' file store (os.MkdirAll); refuses a path that is not a
 * directory. Returns the first directory it created, if any.
 */
async function ensureDirectory(dir: string): Promise<string | undefined> {
  let created: string | undefined;
  let failure: string | undefined;
  try {
    created = await mkdir(dir, { recursive: true });
  } catch (err) {
    failure = (err as NodeJS.ErrnoException).code ?? 'error';
  }
  const info = await stat(dir).catch(() => undefined);
  if (failure !== undefined || !info?.isDirectory()) {
    throw new RulesctlError(ErrorCodes.IO, `cannot use directory "${dir}" as destination: ${failure ?? 'not a directory'}`, {
      hint: 'choose another with --dest-dir',
    });
  }
  return created;
}
