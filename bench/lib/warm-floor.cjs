'use strict';
// The floor of a warm install, for bench/install.mjs: only the I/O a warm install of rules + one
// plugin cannot avoid, hand-written on Node built-ins (node:http keep-alive, node:crypto,
// fs/promises): HEAD the rules manifest, GET the plugin's tag list, HEAD the plugin manifest,
// sha256 the two installed files, print one line. No config, index, verification or CLI. What is
// between this and rulesctl is rulesctl's code (loading it and running it once); what is between
// this and `node -e 0` is Node's.
//
//   node bench/lib/warm-floor.cjs <host:port> <rules file> <plugin file>
const http = require('node:http');
const { createHash } = require('node:crypto');
const { open } = require('node:fs/promises');

const [hostPort, rulesFile, pluginFile] = process.argv.slice(2);
const [host, port] = hostPort.split(':');
const agent = new http.Agent({ keepAlive: true });
const accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';

function request(method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent, headers: { accept } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve({ headers: res.headers, body: Buffer.concat(chunks) }) : reject(new Error(`${method} ${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function sha256(path) {
  const hash = createHash('sha256');
  const fh = await open(path);
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20 })) hash.update(chunk);
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

(async () => {
  const rules = await request('HEAD', '/v2/bench/rules/manifests/latest');
  const tags = JSON.parse((await request('GET', '/v2/bench/plugin/tags/list?n=1000')).body.toString('utf8')).tags;
  const plugin = await request('HEAD', `/v2/bench/plugin/manifests/${tags[0]}`);
  const files = await Promise.all([sha256(rulesFile), sha256(pluginFile)]);
  process.stdout.write(`${rules.headers['docker-content-digest']} ${plugin.headers['docker-content-digest']} ${files.join(' ')}\n`);
  agent.destroy();
})().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
});
