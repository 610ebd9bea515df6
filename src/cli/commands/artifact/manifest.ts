import { Command } from 'commander';
import { fetchConfig } from '../../../artifact/pull.js';
import { resolveManifest } from '../../../artifact/resolve-manifest.js';
import { orasReadTarget } from '../../../oci/oras-cli/backend.js';
import { manifestReference } from '../../../oci/reference.js';
import { resolveReference } from '../../../resolve/reference.js';
import type { Target } from '../../../oci/target.js';
import type { CliIO } from '../../io.js';
import { createRegistryAccess, loadSettings } from '../../context.js';
import { indexChoiceFor } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { addRegistryOptions, chooseBackend, collect, orasSessionFor, readPlatform, readRegistryOptions } from '../../options/registry.js';
import type { Runtime } from '../../runtime.js';
import type { ActionWrapper } from '../register.js';

type Printed = 'manifest' | 'config';

const EXAMPLES: Record<Printed, string> = {
  manifest: `
Examples:
  rulesctl artifact manifest ghcr.io/falcosecurity/rules/falco-rules:latest
  rulesctl artifact manifest falco-rules:3
  # a plugin: the manifest of the linux/arm64 build, from a plain-HTTP registry
  rulesctl artifact manifest localhost:5000/plugins/cloudtrail:0.12.0 --platform linux/arm64 --plain-http`,
  config: `
Examples:
  rulesctl artifact config ghcr.io/falcosecurity/rules/falco-rules:latest
  rulesctl artifact config falco-rules:3
  rulesctl artifact config localhost:5000/plugins/cloudtrail:0.12.0 --platform linux/arm64 --plain-http --output json`,
};

/** `rulesctl artifact manifest REF` (falcoctl.md §6; REF a full reference or an index name): the raw manifest (a plugin's: the selected platform's) plus `\n`. */
export function manifestCommand(io: CliIO, action: ActionWrapper): Command {
  return printCommand(io, action, 'manifest', 'Retrieve the manifest layer of an artifact');
}

/**
 * Shared by `artifact manifest` and `artifact config`: resolve REF (a full reference, or an index
 * name as `artifact install` resolves it: falcoctl's IndexCache.ResolveReference), select `--platform` (default the
 * host's) from an index, print the raw bytes and `\n` as falcoctl does, or with `--output json` an
 * object `{reference, digest, mediaType, manifest|config}`.
 */
export function printCommand(io: CliIO, action: ActionWrapper, what: Printed, description: string): Command {
  const cmd = new Command(what)
    .description(description)
    .argument('<ref>', 'an index name (falco-rules, falco-rules:3) or hostname/repo[:tag|@digest]')
    .option('--platform <os/arch>', 'os and architecture of the artifact in OS/ARCH format (default: the host\'s)', collect);
  addRegistryOptions(cmd);
  addOutputOption(cmd);
  return cmd.addHelpText('after', EXAMPLES[what]).action(action(io, async (rt, args, c) => {
    const input = args[0] as string;
    const platform = readPlatform(c.opts().platform as string[] | undefined);
    const registry = readRegistryOptions(c.opts());
    const settings = await loadSettings(rt, c);
    const index = (await indexChoiceFor(rt, settings)).full;
    const signal = rt.io.signal;
    if (chooseBackend(registry, settings) === 'oras') {
      const resolved = await resolveReference(input, { index, signal });
      const { reference } = resolved;
      const target = orasReadTarget(await orasSessionFor(rt, settings, registry, reference.registry), `${reference.registry}/${reference.repository}`);
      await printFrom(rt, target, what, resolved.ref, manifestReference(reference), platform);
      return;
    }
    const access = createRegistryAccess(rt, settings, registry);
    try {
      const listTags = async (name: string, o: { signal?: AbortSignal }) => (await access.targets(repositoryOf(name))).listTags?.(o) ?? [];
      const resolved = await resolveReference(input, { index, listTags, signal });
      await printFrom(rt, await access.targets(resolved.reference), what, resolved.ref, manifestReference(resolved.reference), platform);
    } finally {
      await access.close();
    }
  }));
}

/** `registry/repository` → its parts (the registry is the part before the first `/`). */
function repositoryOf(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  return { registry: name.slice(0, slash), repository: name.slice(slash + 1) };
}

async function printFrom(rt: Runtime, target: Target, what: Printed, reference: string, tagOrDigest: string, platform: { os: string; architecture: string }): Promise<void> {
  const signal = rt.io.signal;
  if (what === 'manifest') {
    const r = await resolveManifest(target, tagOrDigest, platform, { signal });
    if (rt.output === 'json') {
      rt.io.stdout.write(`${JSON.stringify({ reference, digest: r.descriptor.digest, mediaType: r.descriptor.mediaType, manifest: r.manifest }, null, 2)}\n`);
    } else {
      rt.io.stdout.write(Buffer.concat([r.bytes, Buffer.from('\n')]));
    }
    return;
  }
  const r = await fetchConfig(target, tagOrDigest, platform, { signal });
  if (rt.output === 'json') {
    rt.io.stdout.write(`${JSON.stringify({ reference, digest: r.manifestDigest, config: JSON.parse(r.bytes.toString('utf8')) as unknown }, null, 2)}\n`);
  } else {
    rt.io.stdout.write(Buffer.concat([r.bytes, Buffer.from('\n')]));
  }
}
