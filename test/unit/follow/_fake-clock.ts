/** A virtual clock for follower tests: `sleep` parks until `advanceTo` passes its wake time. */
export interface FakeClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Runs every timer due up to `t` in order, letting promise chains settle between them. */
  advanceTo(t: number): Promise<void>;
  /** Moves time forward without firing timers (work that takes time inside a check). */
  spend(ms: number): void;
  /** Every wait requested, in order. */
  waits: number[];
}

export const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

export function fakeClock(start = 0): FakeClock {
  let t = start;
  let seq = 0;
  const timers: { at: number; seq: number; resolve: () => void }[] = [];
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    spend: (ms) => void (t += ms),
    sleep(ms, signal) {
      waits.push(ms);
      return new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const onAbort = () => {
          const i = timers.indexOf(timer);
          if (i >= 0) timers.splice(i, 1);
          resolve();
        };
        const timer = {
          at: t + ms,
          seq: seq++,
          resolve: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        timers.push(timer);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    async advanceTo(target) {
      for (;;) {
        await settle();
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = timers[0];
        if (!next || next.at > target) break;
        timers.shift();
        t = next.at;
        next.resolve();
      }
      t = target;
      await settle();
    },
  };
}
