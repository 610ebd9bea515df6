import { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { ActionWrapper } from './register.js';
import { VERSION } from '../version-info.js';
import { goArch } from '../../oci/platform.js';

export { goArch };
import { ErrorCodes, RulesctlError } from '../../errors.js';

/** `rulesctl version [-o yaml|json]`, falcoctl's output shape (spec §6). */
export function versionCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('version')
    .description('Print the rulesctl version information')
    .option('-o, --output <format>', 'output format: yaml or json')
    .addHelpText('after', '\nExamples:\n  rulesctl version\n  rulesctl version -o json')
    .action(action(io, async (rt, _args, cmd) => {
      const format = cmd.opts().output as string | undefined;
      const info = {
        semVersion: VERSION,
        gitCommit: '',
        buildDate: '',
        goVersion: '',
        compiler: 'node',
        platform: `${process.platform === 'win32' ? 'windows' : process.platform}/${goArch(process.arch)}`,
        nodeVersion: process.version,
      };
      if (format === undefined || format === 'text') {
        rt.io.stdout.write(`Client Version: ${VERSION}\n`);
      } else if (format === 'json') {
        rt.io.stdout.write(`Client Version:\n${JSON.stringify(info, null, 3)} \n`);
      } else if (format === 'yaml') {
        const lines = Object.entries(info).map(([k, v]) => `${k.toLowerCase()}: ${v === '' ? '""' : v}`);
        rt.io.stdout.write(`Client Version:\n${lines.join('\n')}\n\n`);
      } else {
        throw new RulesctlError(ErrorCodes.USAGE, "--output must be 'yaml' or 'json'");
      }
    }));
}

