import { Command } from 'commander';
import { readConfigFile, updateConfigFile } from '../../../../config/file.js';
import { createGcpTokenSource } from '../../../../oci/auth/credentials/gcp.js';
import { hostKey } from '../../../../oci/auth/credentials/registry-key.js';
import { createDispatcher } from '../../../../oci/registry/transport.js';
import { fetchVia } from '../../../../util/undici.js';
import { homeOf } from '../../../context.js';
import type { CliIO } from '../../../io.js';
import type { ActionWrapper } from '../../register.js';
import { registryArgument } from './common.js';

/**
 * `rulesctl registry auth gcp REGISTRY` (spec falcoctl.md §12): checks that Google
 * application-default credentials yield a token (on failure: exit 1, nothing written), then adds
 * `{registry}` to `registry.auth.gcp` in falcoctl.yaml (`--config`); registries listed there are
 * then accessed as user `oauth2accesstoken` with an ADC access token.
 */
export function gcpCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('gcp')
    .description('Register a registry for Google application-default credentials in falcoctl.yaml')
    .argument('<registry>', 'registry host, e.g. europe-docker.pkg.dev')
    .addHelpText('after', `
Application-default credentials come from GOOGLE_APPLICATION_CREDENTIALS, else
~/.config/gcloud/application_default_credentials.json (gcloud auth application-default login),
else the GCE metadata server (GCE_METADATA_HOST).

Examples:
  gcloud auth application-default login
  rulesctl registry auth gcp europe-docker.pkg.dev`)
    .action(action(io, async (rt, args) => {
      const registry = registryArgument(String(args[0]));
      // Token requests honour the proxy of the injected env, as the registry traffic does.
      const dispatcher = createDispatcher({ env: rt.io.env });
      try {
        await createGcpTokenSource({ env: rt.io.env, home: homeOf(rt), fetch: fetchVia(dispatcher) })({ signal: rt.io.signal });
      } finally {
        await dispatcher.close();
      }
      const path = rt.globals.config;
      const file = await readConfigFile(path, { signal: rt.io.signal });
      const current = file.config['registry.auth.gcp'] ?? [];
      if (current.some((g) => hostKey(g.registry) === hostKey(registry))) {
        rt.logger.info('Registry already configured for GCP', { registry, config: path });
      } else {
        await updateConfigFile(path, 'registry.auth.gcp', [...current.map((g) => ({ registry: g.registry })), { registry }], { signal: rt.io.signal });
      }
      rt.logger.info('GCP credentials configured', { registry });
    }));
}
