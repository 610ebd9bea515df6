import { Command, Option } from 'commander';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../../../../errors.js';
import { openCredentialFile } from '../../../../oci/auth/credentials/store.js';
import type { Credential } from '../../../../oci/auth/types.js';
import { createRegistryAccess, loadSettings } from '../../../context.js';
import type { CliIO } from '../../../io.js';
import { canPrompt, prompt, readAllStdin } from '../../../prompt.js';
import type { Runtime } from '../../../runtime.js';
import type { ActionWrapper } from '../../register.js';
import { envBool, firstSet, registryArgument } from './common.js';

/** What `registry auth basic` was asked to do, after flags, env and prompts. */
export interface BasicLoginRequest {
  registry: string;
  username: string;
  password: string;
  plainHttp: boolean;
}

interface BasicFlags { username?: string; password?: string; passwordStdin?: boolean; plainHttp?: boolean }

const ENV = {
  username: 'FALCOCTL_REGISTRY_AUTH_BASIC_USERNAME',
  password: 'FALCOCTL_REGISTRY_AUTH_BASIC_PASSWORD',
  passwordStdin: 'FALCOCTL_REGISTRY_AUTH_BASIC_PASSWORD_STDIN',
} as const;

/**
 * `rulesctl registry auth basic REGISTRY` (spec falcoctl.md §6, §12): an authenticated ping with
 * the given credentials, then a save into the credential file (`registry.creds.config`, docker
 * config.json format, 0600 in a 0700 dir, or its credential helper). `--plain-http` is a rulesctl
 * addition for local and test registries: falcoctl always pings over HTTPS.
 */
export function basicCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('basic')
    .description('Log in to a registry with a username and password, saved in the credential file')
    .argument('<registry>', 'registry host (a reference is cut to its registry)')
    .option('-u, --username <username>', `username (env ${ENV.username}); prompted for on a terminal`)
    .option('-p, --password <password>', `password (env ${ENV.password}); prefer --password-stdin`)
    .option('--password-stdin', `read the password from standard input (env ${ENV.passwordStdin})`)
    .addOption(new Option('--plain-http', 'talk to the registry over plain HTTP (rulesctl only; for local registries)'))
    .addHelpText('after', `
The credentials are checked against the registry (GET /v2/) before they are saved.

Examples:
  echo "$GITHUB_TOKEN" | rulesctl registry auth basic ghcr.io -u "$GITHUB_ACTOR" --password-stdin
  rulesctl registry auth basic registry.example.com -u alice      # prompts for the password
  FALCOCTL_REGISTRY_AUTH_BASIC_USERNAME=alice FALCOCTL_REGISTRY_AUTH_BASIC_PASSWORD_STDIN=true \\
    rulesctl registry auth basic localhost:5000 --plain-http < password.txt`)
    .action(action(io, async (rt, args, cmd) => {
      const req = await parseBasicLogin(rt, String(args[0]), cmd.opts<BasicFlags>());
      await loginBasic(rt, cmd, req);
    }));
}

/** Flags, then `FALCOCTL_REGISTRY_AUTH_BASIC_*`, then a prompt on a TTY for what is missing. */
export async function parseBasicLogin(rt: Runtime, rawRegistry: string, flags: BasicFlags): Promise<BasicLoginRequest> {
  const registry = registryArgument(rawRegistry);
  const env = rt.io.env;
  if (flags.passwordStdin === true && flags.password !== undefined) {
    throw new RulesctlError(ErrorCodes.USAGE, '--password and --password-stdin are mutually exclusive', { hint: 'Give the password one way only.' });
  }
  // A flag beats the environment: --password-stdin ignores the env password, --password the env stdin switch.
  const fromStdin = flags.passwordStdin === true || (flags.password === undefined && envBool(env[ENV.passwordStdin]));
  let username = firstSet(flags.username, env[ENV.username]);
  let password = fromStdin ? undefined : firstSet(flags.password, env[ENV.password]);
  if (fromStdin && username === undefined) {
    throw new RulesctlError(ErrorCodes.USAGE, '--password-stdin needs --username', { hint: `Give -u/--username or set ${ENV.username}.` });
  }
  if (flags.password !== undefined) rt.logger.warn('Using --password on the command line is insecure: prefer --password-stdin');
  const ask = async (what: 'username' | 'password', flag: string): Promise<string> => {
    if (!canPrompt(rt.io.stdin)) {
      throw new RulesctlError(ErrorCodes.USAGE, `missing ${what} for registry "${registry}" and standard input is not a terminal to prompt on`, {
        hint: `Give ${flag}${what === 'password' ? ' (or --password-stdin)' : ''}.`,
      });
    }
    return prompt(what === 'username' ? 'Username: ' : 'Password: ', { input: rt.io.stdin, output: rt.io.stderr, echo: what === 'username', signal: rt.io.signal });
  };
  username ??= await ask('username', '-u/--username');
  if (fromStdin) password = await readAllStdin(rt.io.stdin, { signal: rt.io.signal });
  password ??= await ask('password', '-p/--password');
  if (username === '' || password === '') {
    throw new RulesctlError(ErrorCodes.USAGE, `empty ${username === '' ? 'username' : 'password'} for registry "${registry}"`);
  }
  return { registry, username, password, plainHttp: flags.plainHttp === true };
}

/** Pings `registry` with exactly these credentials, then saves them; logs `Login succeeded`. */
export async function loginBasic(rt: Runtime, cmd: Command, req: BasicLoginRequest): Promise<void> {
  const settings = await loadSettings(rt, cmd);
  const cred: Credential = { kind: 'basic', username: req.username, password: req.password };
  const access = createRegistryAccess(rt, settings, { plainHttp: req.plainHttp, explicit: { [req.registry]: cred } });
  try {
    await access.clientFor(req.registry).ping(req.registry, { signal: rt.io.signal });
  } catch (err) {
    throw loginError(req, err);
  } finally {
    await access.close();
  }
  const path = settings.get('registry.creds.config');
  await openCredentialFile(path, { env: rt.io.env }).login(req.registry, cred, { signal: rt.io.signal });
  rt.logger.info('Login succeeded', { registry: req.registry, user: req.username });
}

function loginError(req: BasicLoginRequest, err: unknown): unknown {
  if (!isRulesctlError(err)) return err;
  const details = { registry: req.registry, user: req.username };
  if (err.code === ErrorCodes.UNAUTHORIZED || err.code === ErrorCodes.DENIED) {
    return new RulesctlError(err.code, `login to "${req.registry}" as "${req.username}" failed: the registry refused the credentials`, {
      cause: err, details, hint: 'check the username and password (or token); nothing was saved.',
    });
  }
  const hints = [err.hint ?? 'check the registry address', 'nothing was saved'];
  if (err.code === ErrorCodes.NETWORK && !req.plainHttp) hints.splice(1, 0, 'if the registry only speaks plain HTTP (a local one), add --plain-http');
  return new RulesctlError(err.code, `login to "${req.registry}" failed: ${err.message}`, {
    cause: err, details, hint: `${hints.map((h) => h.replace(/\.$/, '')).join('; ')}.`,
  });
}
