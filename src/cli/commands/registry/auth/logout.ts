import { Command } from 'commander';
import { writeFileAtomic } from '../../../../util/atomic-write.js';
import { defaultClientCredentialsPath, readClientCredentials } from '../../../../oci/auth/credentials/oauth.js';
import { hostKey } from '../../../../oci/auth/credentials/registry-key.js';
import { openCredentialFile } from '../../../../oci/auth/credentials/store.js';
import { homeOf, loadSettings } from '../../../context.js';
import type { CliIO } from '../../../io.js';
import type { Runtime } from '../../../runtime.js';
import type { ActionWrapper } from '../../register.js';
import { registryArgument } from './common.js';

/**
 * `rulesctl registry auth logout REGISTRY` (a rulesctl addition; falcoctl has none, spec §15):
 * removes the registry from the credential file (or its credential helper) and from falcoctl's
 * OAuth clientcredentials.json. Not being logged in is not an error.
 */
export function logoutCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('logout')
    .description('Remove saved credentials for a registry (credential file and OAuth client credentials)')
    .argument('<registry>', 'registry host (a reference is cut to its registry)')
    .addHelpText('after', `
Examples:
  rulesctl registry auth logout ghcr.io`)
    .action(action(io, async (rt, args, cmd) => {
      const registry = registryArgument(String(args[0]));
      const settings = await loadSettings(rt, cmd);
      const path = settings.get('registry.creds.config');
      const fromFile = await openCredentialFile(path, { env: rt.io.env }).logout(registry, { signal: rt.io.signal });
      const fromOAuth = await forgetClientCredentials(rt, registry);
      if (fromFile || fromOAuth) rt.logger.info('Logout succeeded', { registry });
      else rt.logger.warn('Not logged in', { registry, file: path });
    }));
}

async function forgetClientCredentials(rt: Runtime, registry: string): Promise<boolean> {
  const path = defaultClientCredentialsPath(homeOf(rt));
  const all = await readClientCredentials(path, { signal: rt.io.signal });
  const kept = Object.fromEntries(Object.entries(all).filter(([k]) => hostKey(k) !== hostKey(registry)));
  if (Object.keys(kept).length === Object.keys(all).length) return false;
  await writeFileAtomic(path, JSON.stringify(kept), { mode: 0o600, dirMode: 0o700, signal: rt.io.signal });
  return true;
}
