import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../../errors.js';
import { defaultClientCredentialsPath, saveClientCredentials, type ClientCredentialsConfig } from '../../../../oci/auth/credentials/oauth.js';
import { createClientCredentialsTokenSource } from '../../../../oci/auth/credentials/oauth-token.js';
import { createDispatcher } from '../../../../oci/registry/transport.js';
import { fetchVia } from '../../../../util/undici.js';
import { homeOf } from '../../../context.js';
import type { CliIO } from '../../../io.js';
import type { Runtime } from '../../../runtime.js';
import type { ActionWrapper } from '../../register.js';
import { registryArgument } from './common.js';

/** `scopes`: the `--scopes` values as given (commander collects repeats), each comma-separated. */
interface OAuthFlags { tokenUrl: string; clientId: string; clientSecret: string; scopes?: string | string[]; plainHttp?: boolean }

/** pflag StringSlice (falcoctl's --scopes): a repeat appends, each value is split on commas. */
const appendScopes = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/**
 * `rulesctl registry auth oauth REGISTRY` (spec falcoctl.md §6, §12): fetches a client-credentials
 * token from `--token-url` first, then saves the client credentials into falcoctl's
 * `~/.config/falcoctl/clientcredentials.json` (0600). A plain-HTTP token URL would send the client
 * secret in clear, so it needs `--plain-http`.
 */
export function oauthCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('oauth')
    .description('Log in to a registry with OAuth2 client credentials (saved in clientcredentials.json)')
    .argument('<registry>', 'registry host (a reference is cut to its registry)')
    .requiredOption('--token-url <url>', 'token endpoint of the OAuth2 provider')
    .requiredOption('--client-id <id>', 'client ID')
    .requiredOption('--client-secret <secret>', 'client secret')
    .option('--scopes <scopes>', 'comma-separated scopes to request, repeatable', appendScopes)
    .option('--plain-http', 'allow an http:// token URL (rulesctl only; the secret travels in clear)')
    .addHelpText('after', `
Examples:
  rulesctl registry auth oauth registry.example.com \\
    --token-url https://auth.example.com/oauth2/token --client-id rulesctl --client-secret "$SECRET" --scopes pull,push`)
    .action(action(io, async (rt, args, cmd) => {
      const registry = registryArgument(String(args[0]));
      const config = parseOAuthFlags(cmd.opts<OAuthFlags>());
      await loginOAuth(rt, registry, config);
    }));
}

/** The clientcredentials.Config the flags describe. @throws ERR_USAGE for a bad token URL. */
export function parseOAuthFlags(flags: OAuthFlags): ClientCredentialsConfig {
  let url: URL;
  try {
    url = new URL(flags.tokenUrl);
  } catch {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid --token-url "${flags.tokenUrl}": not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid --token-url "${flags.tokenUrl}": expected an https:// URL`);
  }
  if (url.protocol === 'http:' && flags.plainHttp !== true) {
    throw new RulesctlError(ErrorCodes.PLAIN_HTTP_REFUSED, `refusing to send the client secret to the plain-HTTP token URL "${url.origin}${url.pathname}"`, {
      hint: 'Use an https:// token URL, or add --plain-http for a local test server.',
    });
  }
  const scopes = [flags.scopes ?? []].flat().flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  return { ClientID: flags.clientId, ClientSecret: flags.clientSecret, TokenURL: flags.tokenUrl, Scopes: scopes.length > 0 ? scopes : null, EndpointParams: null, AuthStyle: 0 };
}

/**
 * Checks that the provider issues a token for these credentials (through the proxy of `rt.io.env`,
 * as the registry traffic), then saves them.
 */
export async function loginOAuth(rt: Runtime, registry: string, config: ClientCredentialsConfig): Promise<void> {
  const dispatcher = createDispatcher({ env: rt.io.env });
  try {
    await createClientCredentialsTokenSource({ fetch: fetchVia(dispatcher) })(config, { signal: rt.io.signal });
  } finally {
    await dispatcher.close();
  }
  const path = defaultClientCredentialsPath(homeOf(rt));
  await saveClientCredentials(path, registry, config, { signal: rt.io.signal });
  rt.logger.info('Client credentials correctly saved', { registry, file: path });
}
