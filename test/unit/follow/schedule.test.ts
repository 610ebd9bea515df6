import { describe, expect, it } from 'vitest';
import {
  createSchedule,
  cronSchedule,
  everySchedule,
  nextWait,
  parseStartupBehavior,
  startupDelay,
} from '../../../src/follow/schedule.js';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);

describe('every', () => {
  it('fires every interval after the end of the previous check', () => {
    const s = everySchedule(168 * H, '168h0m0s');
    expect(s.next(1000)).toBe(1000 + 168 * H);
    expect(nextWait(s, 12345)).toBe(168 * H);
    expect(s.description).toBe('every 168h0m0s');
  });
  it('rejects non-positive intervals', () => {
    expect(() => everySchedule(0)).toThrow(/positive/);
  });
});

describe('cron (robfig ParseStandard)', () => {
  it('finds the next fire of a 5-field expression (UTC by default)', () => {
    const s = cronSchedule('0 3 * * *', { tz: 'UTC' });
    expect(s.next(at('2026-01-01T12:00:00Z'))).toBe(at('2026-01-02T03:00:00Z'));
    expect(s.next(at('2026-01-02T02:59:59Z'))).toBe(at('2026-01-02T03:00:00Z'));
  });
  it('supports descriptors', () => {
    expect(cronSchedule('@daily', { tz: 'UTC' }).next(at('2026-01-01T12:00:00Z'))).toBe(at('2026-01-02T00:00:00Z'));
    expect(cronSchedule('@hourly', { tz: 'UTC' }).next(at('2026-01-01T12:10:00Z'))).toBe(at('2026-01-01T13:00:00Z'));
    expect(cronSchedule('@weekly', { tz: 'UTC' }).next(at('2026-01-01T12:00:00Z'))).toBe(at('2026-01-04T00:00:00Z'));
  });
  it('supports @every with a Go duration, counted from the whole second', () => {
    const s = cronSchedule('@every 1h30m');
    expect(s.next(at('2026-01-01T12:00:00.750Z'))).toBe(at('2026-01-01T13:30:00Z'));
    expect(cronSchedule('@every 10ms').next(0)).toBe(1000);
  });
  it('honours CRON_TZ= and TZ= prefixes', () => {
    const s = cronSchedule('CRON_TZ=America/New_York 0 3 * * *');
    expect(s.next(at('2026-01-01T12:00:00Z'))).toBe(at('2026-01-02T08:00:00Z'));
    expect(cronSchedule('TZ=Asia/Tokyo 0 9 * * *').next(at('2026-01-01T12:00:00Z'))).toBe(at('2026-01-02T00:00:00Z'));
  });
  it('rejects 6 fields, bad descriptors, bad zones and bad fields', () => {
    expect(() => cronSchedule('0 0 3 * * *')).toThrow(/unable to parse cron '0 0 3 \* \* \*': expected exactly 5 fields/);
    expect(() => cronSchedule('@fortnightly')).toThrow(/unrecognized descriptor/);
    expect(() => cronSchedule('CRON_TZ=Mars/Olympus 0 3 * * *')).toThrow(/bad location/);
    expect(() => cronSchedule('61 3 * * *')).toThrow(/unable to parse cron/);
    expect(() => cronSchedule('@every soon')).toThrow(/duration/);
  });
});

describe('createSchedule', () => {
  it('makes --every and --cron mutually exclusive', () => {
    expect(() => createSchedule({ everyMs: H, cron: '@daily' })).toThrow(/\[cron every\]/);
    expect(createSchedule({ everyMs: H }).next(0)).toBe(H);
    expect(createSchedule({ cron: '@every 2h' }).next(0)).toBe(2 * H);
  });
});

describe('startup behaviour', () => {
  const every = everySchedule(1000);
  it('immediate runs at once, skip waits for the first scheduled fire', () => {
    expect(startupDelay(every, 'immediate', 0, () => 0.9)).toBe(0);
    expect(startupDelay(every, 'skip', 0, () => 0.9)).toBe(1000);
  });
  it('jitter stays within [0, every]', () => {
    expect(startupDelay(every, 'jitter', 0, () => 0)).toBe(0);
    expect(startupDelay(every, 'jitter', 0, () => 0.5)).toBe(500);
    expect(startupDelay(every, 'jitter', 0, () => 0.9999999999)).toBe(1000);
    for (let i = 0; i < 200; i++) {
      const d = startupDelay(every, 'jitter', 0);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
  it('jitter with cron is bounded by the time to the next fire', () => {
    const s = cronSchedule('0 3 * * *', { tz: 'UTC' });
    const now = at('2026-01-02T02:00:00Z');
    expect(startupDelay(s, 'jitter', now, () => 0.9999999999)).toBe(H);
    expect(startupDelay(s, 'skip', now)).toBe(H);
  });
  it('parses the flag with falcoctl wording', () => {
    expect(parseStartupBehavior('skip')).toBe('skip');
    expect(() => parseStartupBehavior('later')).toThrow('invalid value for --startup-behavior: "later". Allowed values are: "skip", "jitter", "immediate"');
  });
});
