import type { ResolvedSettings } from './load.js';

/**
 * follow's `--cron`/`--every` exclusion as falcoctl applies it: its pre-run copies every key
 * viper has (env or file) into the flags, then cobra's mutually-exclusive group fails when both
 * are set, from any layer (spec §10). Returns cobra's message, or undefined when at most one is set.
 * https://github.com/falcosecurity/falcoctl/blob/main/cmd/artifact/follow/follow.go
 */
export function followScheduleConflict(settings: ResolvedSettings): string | undefined {
  const every = settings.sourceOf('artifact.follow.every');
  const cron = settings.sourceOf('artifact.follow.cron');
  if (every === 'default' || cron === 'default') return undefined;
  return 'if any flags in the group [cron every] are set none of the others can be; [cron every] were all set';
}
