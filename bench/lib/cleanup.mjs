// Cleanup on exit, errors and signals: registered functions run once, last registered first.
const tasks = [];
let ran = false;

/** Registers `fn` (sync or async) to run when the benchmark ends, however it ends. */
export function onCleanup(fn) {
  tasks.push(fn);
}

/** True once cleanup has started (a signal or the end): start nothing new. */
export function cleaningUp() {
  return ran;
}

/** Runs the registered cleanups (idempotent). */
export async function cleanup() {
  if (ran) return;
  ran = true;
  for (const fn of tasks.reverse()) {
    try { await fn(); } catch (err) { process.stderr.write(`cleanup: ${err?.message ?? err}\n`); }
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    process.stderr.write(`\n${sig}: cleaning up\n`);
    cleanup().finally(() => process.exit(130));
  });
}
process.once('uncaughtException', (err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  cleanup().finally(() => process.exit(1));
});
process.once('unhandledRejection', (err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  cleanup().finally(() => process.exit(1));
});
