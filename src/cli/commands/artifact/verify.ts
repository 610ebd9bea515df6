import { join } from 'node:path';
import { Command } from 'commander';
import type { ResolvedSettings } from '../../../config/load.js';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import { defaultCacheDir, loadMergedIndex, type MergedIndex } from '../../../index/cache.js';
import { parseDigest } from '../../../oci/descriptor.js';
import { resolveReference, type ResolvedReference } from '../../../resolve/reference.js';
import { describePolicy, parseCosignPolicy, type CosignIndexSignature, type SignaturePolicy } from '../../../signature/policy.js';
import type { TrustedRootSource } from '../../../signature/trusted-root.js';
import { verifyArtifact, type VerifiedSignature } from '../../../signature/verify.js';
import { createRegistryAccess, homeOf, loadSettings } from '../../context.js';
import type { CliIO } from '../../io.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';
import type { Runtime } from '../../runtime.js';
import type { ActionWrapper } from '../register.js';

interface VerifyFlags {
  key?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  ignoreTlog?: boolean;
  trustedRoot?: string;
  plainHttp?: boolean;
}

/** What `artifact verify` prints: the subject, the policy and the signature that satisfied it. */
export interface VerifyReport {
  reference: string;
  /** `<registry>/<repository>@<root digest>`, the signed subject. */
  subject: string;
  digest: string;
  /** `flags` or `index <name>` (the index entry's signature.cosign). */
  policySource: string;
  policy: string;
  signature: VerifiedSignature;
}

/**
 * `rulesctl artifact verify REF` (issue 9; beyond falcoctl): checks the cosign signature of REF's
 * root digest (spec falcoctl.md §14) against the policy given by flags, else the index entry's
 * `signature.cosign` (by name, or for a full ref the entry with that registry and repository).
 * Prints what was verified; exits 1 with every candidate's reason otherwise.
 */
export function verifyCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('verify')
    .description('Verify the cosign signature of an artifact against a policy (flags or its index entry)')
    .argument('<ref>', 'index name[:tag] or full reference registry/repository[:tag|@digest]')
    .option('--key <file>', 'PEM public key: key-based verification (cosign --key)')
    .option('--certificate-identity <identity>', 'keyless: exact certificate identity (SAN)')
    .option('--certificate-identity-regexp <regexp>', 'keyless: certificate identity pattern')
    .option('--certificate-oidc-issuer <issuer>', 'keyless: exact OIDC issuer')
    .option('--certificate-oidc-issuer-regexp <regexp>', 'keyless: OIDC issuer pattern')
    .option('--ignore-tlog', 'do not require a Rekor transparency-log entry (signatures made without Rekor)')
    .option('--trusted-root <file>', 'Sigstore trusted_root.json (default: $SIGSTORE_ROOT_FILE, else the Sigstore TUF repository)')
    .option('--plain-http', 'talk to the registry over plain HTTP');
  addOutputOption(cmd);
  return cmd
    .addHelpText('after', `
Without policy flags the policy is the signature.cosign block of the artifact's index entry.

Examples:
  rulesctl artifact verify falco-rules:3
  rulesctl artifact verify ghcr.io/falcosecurity/rules/falco-rules:3 \\
    --certificate-identity-regexp 'https://github.com/falcosecurity/rules/' \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com
  rulesctl artifact verify localhost:5000/my/rules:1.0.0 --key cosign.pub --ignore-tlog --plain-http -o json`)
    .action(action(io, async (rt, args, c) => {
      const flags = c.opts<VerifyFlags>();
      const report = await verify(rt, c, String(args[0]), flags);
      printResult(rt.io.stdout, rt.output, report, formatReport);
    }));
}

/** The policy the flags describe, or undefined when none was given. */
export function policyFromFlags(flags: VerifyFlags): SignaturePolicy | undefined {
  const block: CosignIndexSignature = {
    ...(flags.key !== undefined ? { key: flags.key } : {}),
    ...(flags.certificateIdentity !== undefined ? { 'certificate-identity': flags.certificateIdentity } : {}),
    ...(flags.certificateIdentityRegexp !== undefined ? { 'certificate-identity-regexp': flags.certificateIdentityRegexp } : {}),
    ...(flags.certificateOidcIssuer !== undefined ? { 'certificate-oidc-issuer': flags.certificateOidcIssuer } : {}),
    ...(flags.certificateOidcIssuerRegexp !== undefined ? { 'certificate-oidc-issuer-regexp': flags.certificateOidcIssuerRegexp } : {}),
  };
  if (Object.keys(block).length === 0) return undefined;
  if (flags.key !== undefined && Object.keys(block).length > 1) {
    throw new RulesctlError(ErrorCodes.USAGE, '--key cannot be combined with the --certificate-* flags', { hint: 'Use --key for key-based signatures, the --certificate-* flags for keyless ones.' });
  }
  try {
    return parseCosignPolicy({ ...block, 'ignore-tlog': flags.ignoreTlog === true });
  } catch (err) {
    const e = err as RulesctlError;
    throw new RulesctlError(ErrorCodes.USAGE, e.message.replace('signature.cosign', 'policy flags'), {
      hint: 'Give --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp), or --key.',
    });
  }
}

async function verify(rt: Runtime, cmd: Command, input: string, flags: VerifyFlags): Promise<VerifyReport> {
  const fromFlags = policyFromFlags(flags);
  const settings = await loadSettings(rt, cmd);
  const index = lazyIndex(rt, settings);
  const access = createRegistryAccess(rt, settings, { plainHttp: flags.plainHttp === true });
  try {
    const listTags = async (name: string, o: { signal?: AbortSignal }) => (await access.targets(parseRepository(name))).listTags?.(o) ?? [];
    const resolved = await resolveReference(input, { index, listTags, signal: rt.io.signal });
    const { policy, source } = fromFlags ? { policy: fromFlags, source: 'flags' } : await policyFromIndex(resolved, index);
    const { registry, repository } = resolved.reference;
    const target = await access.targets(resolved.reference);
    const digest = resolved.reference.digest ?? (await target.resolve(resolved.reference.tag ?? 'latest', { signal: rt.io.signal })).digest;
    parseDigest(digest);
    const repo = access.clientFor(registry).repository({ registry, repository });
    const signature = await verifyArtifact({
      target, repository: `${registry}/${repository}`, digest, policy,
      referrers: (d, t, o) => repo.referrers(d, t, o),
      ...trustedRootFor(rt, policy, flags),
      logger: rt.logger, signal: rt.io.signal,
    });
    return { reference: resolved.ref, subject: `${registry}/${repository}@${digest}`, digest, policySource: source, policy: describePolicy(policy), signature };
  } finally {
    await access.close();
  }
}

/** `registry/repository` → its parts (the registry is the part before the first `/`). */
function parseRepository(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  return { registry: name.slice(0, slash), repository: name.slice(slash + 1) };
}

function lazyIndex(rt: Runtime, settings: ResolvedSettings): () => Promise<MergedIndex> {
  let loaded: Promise<MergedIndex> | undefined;
  return () => (loaded ??= loadMergedIndex(settings.get('indexes'), { cacheDir: defaultCacheDir(homeOf(rt)), signal: rt.io.signal }));
}

async function policyFromIndex(resolved: ResolvedReference, index: () => Promise<MergedIndex>): Promise<{ policy: SignaturePolicy; source: string }> {
  let entry = resolved.entry;
  if (entry === undefined) {
    const { registry, repository } = resolved.reference;
    entry = (await index()).entries.find((e) => e.registry === registry && e.repository === repository);
  }
  const policy = parseCosignPolicy(entry?.signature?.cosign);
  if (entry === undefined || policy === undefined) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `no signature policy for "${resolved.input}": ${entry === undefined ? 'no index entry has this repository' : `the index entry "${entry.name}" has no signature.cosign block`}`, {
      hint: 'Give the policy with --key FILE, or --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp).',
    });
  }
  return { policy, source: `index ${entry.name}` };
}

/** `--trusted-root`, else `$SIGSTORE_ROOT_FILE`, else the Sigstore TUF repository (cached under `$TUF_ROOT`). */
function trustedRootFor(rt: Runtime, policy: SignaturePolicy, flags: VerifyFlags): { trustedRoot?: TrustedRootSource } {
  if (flags.trustedRoot !== undefined) return { trustedRoot: { file: flags.trustedRoot } };
  const env = rt.io.env;
  if (env.SIGSTORE_ROOT_FILE) return { trustedRoot: { file: env.SIGSTORE_ROOT_FILE } };
  if (policy.kind === 'key' && policy.ignoreTlog) return {};
  const data = env.XDG_DATA_HOME || join(homeOf(rt), '.local', 'share');
  return { trustedRoot: { tuf: { cachePath: env.TUF_ROOT || join(data, 'sigstore-js') } } };
}

function formatReport(r: VerifyReport): string {
  const s = r.signature;
  const lines = [
    `Verified ${r.subject}`,
    `  reference:   ${r.reference}`,
    `  policy:      ${r.policy} (from ${r.policySource})`,
    `  signature:   ${s.format === 'bundle' ? 'cosign bundle (OCI referrer)' : 'cosign .sig tag'} ${s.manifest.digest}`,
  ];
  if (s.identity !== undefined) lines.push(`  identity:    ${s.identity}`);
  if (s.issuer !== undefined) lines.push(`  issuer:      ${s.issuer}`);
  if (s.keyHint !== undefined) lines.push(`  key hint:    ${s.keyHint}`);
  lines.push(`  tlog entries: ${s.tlogEntries}`);
  return lines.join('\n');
}
