import { randomInt } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { parseGoDuration } from '../config/duration.js';
import { ErrorCodes, RulesctlError } from '../errors.js';

/**
 * When `artifact follow` checks a reference (falcoctl.md §11 "Schedule"). Pure: time comes in as
 * epoch milliseconds, randomness through an injected function.
 */
export interface Schedule {
  /** Epoch ms of the first fire strictly after `from` (robfig `Schedule.Next`). */
  next(from: number): number;
  /** For logs: `every 168h0m0s` or `cron 0 3 * * *`. */
  readonly description: string;
}

export type StartupBehavior = 'immediate' | 'skip' | 'jitter';
export const STARTUP_BEHAVIORS: readonly StartupBehavior[] = ['skip', 'jitter', 'immediate'];

/** Uniform in [0, 1); `defaultRandom` is crypto-backed. */
export type RandomFn = () => number;

export const defaultRandom: RandomFn = () => randomInt(0, 2 ** 48 - 1) / 2 ** 48;

/** Fixed interval (`--every`): next = from + every. */
export function everySchedule(everyMs: number, label = `${everyMs}ms`): Schedule {
  if (!Number.isFinite(everyMs) || everyMs <= 0) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid interval "${label}": it must be positive`);
  }
  return { next: (from) => from + everyMs, description: `every ${label}` };
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface CronOptions {
  /** IANA zone used when the expression has no `CRON_TZ=`/`TZ=` prefix (robfig uses local time). */
  tz?: string;
}

/**
 * `--cron`, as robfig/cron `ParseStandard`: exactly 5 fields (minute hour dom month dow), the
 * descriptors `@yearly … @hourly`, `@every <go duration>` (rounded down to whole seconds, at least
 * 1 s, counted from the whole second of `from`) and a `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix.
 * Throws ERR_USAGE quoting the expression.
 */
export function cronSchedule(expression: string, opts: CronOptions = {}): Schedule {
  const fail = (why: string): never => {
    throw new RulesctlError(ErrorCodes.USAGE, `unable to parse cron '${expression}': ${why}`, {
      hint: 'use 5 fields "minute hour day-of-month month day-of-week", a descriptor like @daily, or "@every 1h"',
    });
  };
  let spec = expression.trim();
  let tz = opts.tz;
  const tzMatch = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(spec);
  if (tzMatch) {
    tz = tzMatch[1];
    spec = spec.slice(tzMatch[0].length).trim();
  }
  if (tz !== undefined && !isValidZone(tz)) fail(`provided bad location ${tz}`);
  if (spec.startsWith('@every')) return everyDescriptor(spec.slice('@every'.length).trim(), expression, fail);
  if (spec.startsWith('@')) spec = DESCRIPTORS[spec] ?? fail(`unrecognized descriptor: ${spec}`);
  const fields = spec.split(/\s+/);
  if (fields.length !== 5) fail(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const parse = (from: number) => CronExpressionParser.parse(spec, { currentDate: new Date(from), tz, strict: false });
  try {
    parse(0).next();
  } catch (err) {
    fail((err as Error).message);
  }
  return { next: (from) => parse(from).next().getTime(), description: `cron ${expression}` };
}

function everyDescriptor(text: string, expression: string, fail: (why: string) => never): Schedule {
  const ms = parseGoDuration(text);
  if (ms === undefined || ms < 0) fail(`failed to parse duration ${text}`);
  const delay = Math.max(1000, Math.floor((ms as number) / 1000) * 1000);
  return { next: (from) => Math.floor(from / 1000) * 1000 + delay, description: `cron ${expression}` };
}

function isValidZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Exactly one of `every` (ms) and `cron`; both or neither is a usage error (falcoctl's mutual exclusion). */
export function createSchedule(opts: { everyMs?: number; everyLabel?: string; cron?: string; tz?: string }): Schedule {
  if (opts.cron !== undefined && opts.cron !== '' && opts.everyMs !== undefined) {
    throw new RulesctlError(ErrorCodes.USAGE, 'if any flags in the group [cron every] are set none of the others can be; [cron every] were all set');
  }
  if (opts.cron !== undefined && opts.cron !== '') return cronSchedule(opts.cron, { tz: opts.tz });
  if (opts.everyMs === undefined) throw new RulesctlError(ErrorCodes.USAGE, 'either --every or --cron is required');
  return everySchedule(opts.everyMs, opts.everyLabel);
}

/**
 * Delay before the first check (falcoctl.md §11): `immediate` 0; `skip` the time to the first
 * scheduled fire; `jitter` a random integer in [0, maxDelay] ms, maxDelay = time to the first fire
 * (= `every` for intervals).
 */
export function startupDelay(schedule: Schedule, behavior: StartupBehavior, now: number, random: RandomFn = defaultRandom): number {
  const untilFirst = Math.max(0, schedule.next(now) - now);
  switch (behavior) {
    case 'immediate':
      return 0;
    case 'skip':
      return untilFirst;
    case 'jitter':
      return Math.min(untilFirst, Math.floor(random() * (untilFirst + 1)));
  }
}

/** Wait after a check that ended at `endedAt` (later waits are `Next(now) - now`). */
export function nextWait(schedule: Schedule, endedAt: number): number {
  return Math.max(0, schedule.next(endedAt) - endedAt);
}

/** Parses `--startup-behavior`; throws ERR_USAGE with falcoctl's wording. */
export function parseStartupBehavior(value: string): StartupBehavior {
  if ((STARTUP_BEHAVIORS as readonly string[]).includes(value)) return value as StartupBehavior;
  throw new RulesctlError(
    ErrorCodes.USAGE,
    `invalid value for --startup-behavior: "${value}". Allowed values are: "skip", "jitter", "immediate"`,
  );
}
