import { describe, expect, it } from 'vitest';
import {
  annotationFile, blobFetchArgs, manifestFetchArgs, manifestPushArgs, pullArgs, pushManifestArgs, remoteFlags, tagArgs,
} from '../../../src/oci/oras-cli/args.js';
import { mapOrasError, orasErrorLine } from '../../../src/oci/oras-cli/errors.js';
import { runOras, type OrasRunner } from '../../../src/oci/oras-cli/run.js';

describe('oras argument lists', () => {
  it('oras push: config file:mediatype, image-spec v1.0, annotation file, no artifact type, layer name:mediatype last', () => {
    const args = pushManifestArgs({
      repository: 'localhost:5000/falco/rules', configPath: '/w/config.json', configMediaType: 'application/vnd.cncf.falco.rulesfile.config.v1+json',
      layerName: 'falco_rules.tar.gz', layerMediaType: 'application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz',
      annotationFilePath: '/w/annotations-0.json', exportManifestPath: '/w/manifest-0.json', plainHttp: true,
    });
    expect(args).toEqual([
      'push', 'localhost:5000/falco/rules',
      '--config', '/w/config.json:application/vnd.cncf.falco.rulesfile.config.v1+json',
      '--annotation-file', '/w/annotations-0.json',
      '--image-spec', 'v1.0',
      '--export-manifest', '/w/manifest-0.json',
      '--no-tty',
      '--plain-http',
      'falco_rules.tar.gz:application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz',
    ]);
    expect(args).not.toContain('--artifact-type');
  });

  it('annotation file: $manifest with created, and source only when given', () => {
    expect(JSON.parse(annotationFile('2025-01-01T00:00:00Z'))).toEqual({ $manifest: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' } });
    expect(JSON.parse(annotationFile('2025-01-01T00:00:00Z', 'https://github.com/falcosecurity/rules.git'))).toEqual({
      $manifest: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z', 'org.opencontainers.image.source': 'https://github.com/falcosecurity/rules.git' },
    });
  });

  it('remote flags: plain http, insecure, CA file, and credentials only through stdin', () => {
    expect(remoteFlags({})).toEqual([]);
    expect(remoteFlags({ plainHttp: true, insecure: true, caFile: '/ca.pem', credential: { kind: 'basic', username: 'alice' } }))
      .toEqual(['--plain-http', '--insecure', '--ca-file', '/ca.pem', '--username', 'alice', '--password-stdin']);
    expect(remoteFlags({ credential: { kind: 'identity-token' } })).toEqual(['--identity-token-stdin']);
  });

  it('index push, tags, manifest and blob fetch, pull by digest', () => {
    expect(manifestPushArgs({ reference: 'r/p:0.1.0', file: '/w/index.json' })).toEqual(['manifest', 'push', 'r/p:0.1.0', '/w/index.json', '--media-type', 'application/vnd.oci.image.index.v1+json']);
    expect(tagArgs({ reference: 'r/p@sha256:ab', tags: ['1', '1.2'], plainHttp: true })).toEqual(['tag', 'r/p@sha256:ab', '1', '1.2', '--plain-http']);
    expect(manifestFetchArgs({ reference: 'r/p:1' })).toEqual(['manifest', 'fetch', 'r/p:1']);
    expect(blobFetchArgs({ reference: 'r/p@sha256:cd' })).toEqual(['blob', 'fetch', 'r/p@sha256:cd', '--output', '-']);
    expect(pullArgs({ reference: 'r/p@sha256:ef', outputDir: '/d/.stage' })).toEqual(['pull', 'r/p@sha256:ef', '--output', '/d/.stage', '--no-tty']);
  });
});

describe('oras error mapping', () => {
  const cases: [string, RegExp][] = [
    ['Error: failed to resolve latest: GET "https://h/v2/": http: server gave HTTP response to HTTPS client', /--plain-http/],
    ['Error response from registry: unauthorized: authentication required', /registry auth basic h:5000/],
    ['Error: failed to verify certificate: x509: certificate signed by unknown authority', /--ca-file/],
    ['Error response from registry: denied: requested access to the resource is denied', /permission/],
    ['Error: localhost:5000/x:1: not found', /check the reference/],
    ['Error: dial tcp 127.0.0.1:1: connect: connection refused', /reachable/],
    ['Error: unknown flag: --no-tty', /oras >= 1\.2/],
    ['Error: something new', /--backend native/],
  ];
  it.each(cases)('%s', (stderr, hint) => {
    const err = mapOrasError(['manifest', 'fetch', 'h:5000/x:1', '--plain-http'], { exitCode: 1, stderr }, 'h:5000');
    expect(err.code).toBe('ERR_ORAS');
    expect(err.message).toMatch(/^oras manifest fetch "h:5000\/x:1" failed: /);
    expect(err.hint).toMatch(hint);
  });

  it('quotes oras\' Error line, redacts secrets, and says when oras is missing', () => {
    expect(orasErrorLine('progress\nError: boom\nUsage: …')).toBe('boom');
    expect(orasErrorLine('\nlast line\n')).toBe('last line');
    const err = mapOrasError(['push', 'h/x'], { exitCode: 1, stderr: 'Error: GET https://alice:s3cret@h/v2/ failed' });
    expect(err.message).not.toContain('s3cret');
    expect(JSON.stringify(err.details)).not.toContain('s3cret');
    const missing = mapOrasError(['pull', 'h/x@sha256:aa'], { exitCode: undefined, stderr: '', spawnError: 'Command failed with ENOENT: oras pull\nspawn oras ENOENT' });
    expect(missing.hint).toMatch(/install oras/);
  });

  it('runOras returns stdout, passes input and cwd, and throws the mapped error', async () => {
    const seen: unknown[] = [];
    const ok: OrasRunner = async (args, o) => { seen.push([args, o.input, o.cwd]); return { stdout: Buffer.from('{}'), stderr: '', exitCode: 0 }; };
    expect((await runOras(ok, ['manifest', 'fetch', 'h/x:1'], { input: 'pw', cwd: '/w' })).toString()).toBe('{}');
    expect(seen).toEqual([[['manifest', 'fetch', 'h/x:1'], 'pw', '/w']]);
    const bad: OrasRunner = async () => ({ stdout: Buffer.alloc(0), stderr: 'Error: h/x:1: not found', exitCode: 1 });
    await expect(runOras(bad, ['manifest', 'fetch', 'h/x:1'])).rejects.toMatchObject({ code: 'ERR_ORAS', message: 'oras manifest fetch "h/x:1" failed: h/x:1: not found' });
  });

  it('runOras reports a cancelled run as ERR_ABORTED', async () => {
    const c = new AbortController();
    c.abort(new Error('SIGINT'));
    const killed: OrasRunner = async () => ({ stdout: Buffer.alloc(0), stderr: '', exitCode: 143 });
    await expect(runOras(killed, ['pull', 'h/x:1'], { signal: c.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});
