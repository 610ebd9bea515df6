// Preload (`node --import ./bench/lib/import-trace.mjs …`): records the modules a process loads —
// ESM through a resolve hook, CommonJS through Module._load — and on exit writes to the file named
// by $IMPORT_TRACE_FILE (default stderr) `{"importTrace": {"edges": [[url, parentUrl|null], ...]}}`
// (every distinct import edge; CommonJS paths as file: URLs). bench/startup.mjs --trace summarises it.
import { writeFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const edges = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (edge) => edges.add(JSON.stringify(edge)));
port1.unref();
register(new URL('./import-trace-hooks.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });

const load = Module._load;
Module._load = function traced(request, parent, isMain) {
  try {
    const path = Module._resolveFilename(request, parent, isMain);
    if (path.includes('/')) edges.add(JSON.stringify([pathToFileURL(path).href, parent?.filename ? pathToFileURL(parent.filename).href : null]));
  } catch { /* the real load reports it */ }
  return load.apply(this, arguments);
};

process.once('exit', () => {
  const text = `${JSON.stringify({ importTrace: { edges: [...edges].map((e) => JSON.parse(e)) } })}\n`;
  if (process.env.IMPORT_TRACE_FILE) writeFileSync(process.env.IMPORT_TRACE_FILE, text);
  else process.stderr.write(text);
});
