import { Command } from 'commander';
import { readConfigFile, updateConfigFile } from '../../../../config/file.js';
import { hostKey } from '../../../../oci/auth/credentials/registry-key.js';
import type { CliIO } from '../../../io.js';
import type { ActionWrapper } from '../../register.js';
import { registryArgument } from './common.js';

/** What rulesctl can do instead of GCP application-default credentials. */
export const GCP_WORKAROUND = 'rulesctl cannot fetch Google application-default credentials yet; log in with a short-lived token instead: '
  + 'gcloud auth print-access-token | rulesctl registry auth basic <registry> -u oauth2accesstoken --password-stdin';

/**
 * `rulesctl registry auth gcp REGISTRY` (spec falcoctl.md §12): adds `{registry}` to
 * `registry.auth.gcp` in falcoctl.yaml (`--config`), so falcoctl on the same host uses ADC for it.
 * falcoctl first checks that ADC yields a token; rulesctl has no ADC token source, so it cannot
 * check, does not use the entry itself, and says what works instead ({@link GCP_WORKAROUND}).
 */
export function gcpCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('gcp')
    .description('Register a registry for Google application-default credentials in falcoctl.yaml (see the note)')
    .argument('<registry>', 'registry host, e.g. europe-docker.pkg.dev')
    .addHelpText('after', `
Note: ${GCP_WORKAROUND}

Examples:
  rulesctl registry auth gcp europe-docker.pkg.dev
  gcloud auth print-access-token | rulesctl registry auth basic europe-docker.pkg.dev -u oauth2accesstoken --password-stdin`)
    .action(action(io, async (rt, args) => {
      const registry = registryArgument(String(args[0]));
      const path = rt.globals.config;
      const file = await readConfigFile(path, { signal: rt.io.signal });
      const current = file.config['registry.auth.gcp'] ?? [];
      if (current.some((g) => hostKey(g.registry) === hostKey(registry))) {
        rt.logger.info('Registry already configured for GCP', { registry, config: path });
      } else {
        await updateConfigFile(path, 'registry.auth.gcp', [...current.map((g) => ({ registry: g.registry })), { registry }], { signal: rt.io.signal });
        rt.logger.info('GCP authentication configured', { registry, config: path });
      }
      rt.logger.warn(GCP_WORKAROUND.replace('<registry>', registry));
    }));
}
