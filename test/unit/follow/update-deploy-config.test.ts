import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText, readConfigFile } from '../../../src/config/file.js';
import { resolveSettings } from '../../../src/config/load.js';

/**
 * The sidecar config documented in deploy/ loads through rulesctl's config loader with no error and
 * no warning, and means what docs/sidecar.md says (issue 6 "Sidecar").
 */

const root = join(import.meta.dirname, '../../..');

function expectSidecarSettings(text: string): void {
  const file = parseConfigText(text);
  expect(file.errors).toEqual([]);
  expect(file.warnings).toEqual([]);
  const s = resolveSettings({ env: {}, fileConfig: file.config, home: '/tmp' });
  expect(s.errors).toEqual([]);
  expect(s.get('artifact.follow.refs')).toEqual(['falco-rules:5']);
  expect(s.get('artifact.install.refs')).toEqual(['falco-rules:5']);
  expect(s.get('artifact.follow.every')).toBe(6 * 3_600_000);
  expect(s.get('artifact.follow.rulesfilesdir')).toBe('/rulesfiles');
  expect(s.get('artifact.follow.pluginsdir')).toBe('/plugins');
  expect(s.get('artifact.follow.statedir')).toBe('/artifactstate');
  expect(s.get('artifact.install.statedir')).toBe('/artifactstate');
  expect(s.get('artifact.follow.tmpdir')).toBe('/artifactstate/tmp');
  expect(s.get('artifact.follow.listen')).toBe(':8766');
  expect(s.get('artifact.follow.healthurl')).toBe('http://localhost:8765/healthz');
  expect(s.get('artifact.allowedTypes')).toEqual(['rulesfile', 'plugin']);
  expect(s.get('registry.mirrors')).toEqual({ 'ghcr.io': ['http://falco-registry.falco.svc:5000'] });
  expect(s.sourceOf('artifact.follow.every')).toBe('file');
}

describe('deploy/ sidecar configuration', () => {
  it('deploy/falcoctl.yaml loads through the config loader without errors or warnings', async () => {
    const file = await readConfigFile(join(root, 'deploy/falcoctl.yaml'));
    expect(file.exists).toBe(true);
    expectSidecarSettings(readFileSync(join(root, 'deploy/falcoctl.yaml'), 'utf8'));
  });

  it('the falcoctl.config block of deploy/helm-values.yaml renders (as Helm toYaml) to the same settings', () => {
    const values = yaml.load(readFileSync(join(root, 'deploy/helm-values.yaml'), 'utf8')) as { falcoctl: { config: unknown } };
    const rendered = yaml.dump(values.falcoctl.config, { sortKeys: true });
    expectSidecarSettings(rendered);
    const plain = yaml.load(readFileSync(join(root, 'deploy/falcoctl.yaml'), 'utf8'));
    expect(values.falcoctl.config).toEqual(plain);
  });
});
