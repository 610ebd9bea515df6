// Loader hooks for import-trace.mjs (run in node's loader thread): reports resolved file URLs.
let port;

export function initialize(data) {
  port = data.port;
}

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith('file:')) port.postMessage([r.url, context.parentURL ?? null]);
  return r;
}
