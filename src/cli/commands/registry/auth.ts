import { Command } from 'commander';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { basicCommand } from './auth/basic.js';
import { gcpCommand } from './auth/gcp.js';
import { logoutCommand } from './auth/logout.js';
import { oauthCommand } from './auth/oauth.js';

/** `rulesctl registry auth {basic|oauth|gcp|logout}` (spec falcoctl.md §6, §12; logout is rulesctl's). */
export function authCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('auth')
    .description('Log in to registries (basic, oauth, gcp) and log out')
    .addHelpText('after', `
Examples:
  echo "$GITHUB_TOKEN" | rulesctl registry auth basic ghcr.io -u "$GITHUB_ACTOR" --password-stdin
  rulesctl registry auth logout ghcr.io`)
    .addCommand(basicCommand(io, action))
    .addCommand(oauthCommand(io, action))
    .addCommand(gcpCommand(io, action))
    .addCommand(logoutCommand(io, action));
}
