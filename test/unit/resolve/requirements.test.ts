import { describe, expect, it } from 'vitest';
import { checkPluginVersions, checkRequirements, parseFalcoPluginVersions, parseFalcoVersions } from '../../../src/resolve/requirements.js';

const BODY = '{"default_driver_version":"8.0.0+driver","driver_api_version":"8.0.0","driver_schema_version":"2.0.0","engine_version":"57","engine_version_semver":"0.57.0","falco_version":"0.41.0","libs_version":"0.21.0","plugin_api_version":"3.10.0","plugin_versions":{"json":"0.7.3","k8saudit":"0.9.0"}}';
const versions = parseFalcoVersions(BODY);

describe('parseFalcoVersions', () => {
  it('keeps string values only (plugin_versions is an object)', () => {
    expect(versions['engine_version_semver']).toBe('0.57.0');
    expect(versions['plugin_versions']).toBeUndefined();
    expect(parseFalcoVersions({ a: 1, b: 'x' })).toEqual({ b: 'x' });
    expect(parseFalcoPluginVersions(BODY)).toEqual({ json: '0.7.3', k8saudit: '0.9.0' });
    expect(() => parseFalcoVersions('[]')).toThrow('expected a JSON object');
    expect(() => parseFalcoVersions('nope')).toThrow(/error unmarshalling Falco versions/);
  });
});

describe('checkRequirements', () => {
  it.each([
    ['engine_version_semver', '0.57.0', undefined],
    ['engine_version_semver', '0.10.0', undefined],
    ['engine_version_semver', '0.60.0', ['older', 'requires engine_version_semver 0.60.0, Falco reports 0.57.0', 'incompatible versions, MINOR mismatch, Falco: 0.57.0, Requirement: engine_version_semver:0.60.0']],
    ['engine_version_semver', '1.0.0', ['major', 'requires engine_version_semver 1.0.0, Falco reports 0.57.0 (another major version)', 'incompatible versions, MAJOR mismatch, Falco: 0.57.0, Requirement: engine_version_semver:1.0.0']],
    ['engine_version', '57', undefined],
    ['engine_version', '9', undefined], // integers, not strings: 57 >= 9
    ['engine_version', '58', ['older', 'requires engine_version 58, Falco reports 57', 'incompatible versions, Falco: 57, Requirement: engine_version:58']],
    ['plugin_api_version', '3.0.0', undefined],
    ['plugin_api_version', '3.10.1', ['older', 'requires plugin_api_version 3.10.1, Falco reports 3.10.0', 'incompatible versions, MINOR mismatch, Falco: 3.10.0, Requirement: plugin_api_version:3.10.1']],
    ['plugin_api_version', '3.2', ['invalid', 'requires plugin_api_version 3.2: "3.2" is not semver', 'expected semver for key plugin_api_version']],
    ['engine_version', '057', ['invalid', 'requires engine_version 057, Falco reports "57", not semver', 'expected semver for key engine_version']],
    ['k8s_version', '1.0.0', ['missing', 'requires k8s_version 1.0.0, Falco does not report k8s_version', 'unrecognized key k8s_version: Falco does not satisfy this requirement']],
  ] as const)('%s %s', (name, version, expected) => {
    const failures = checkRequirements([{ name, version }], versions);
    if (expected === undefined) expect(failures).toEqual([]);
    else expect(failures.map((f) => [f.reason, f.message, f.falcoctlMessage])).toEqual([expected]);
  });

  it('reports every failure, and nothing for no requirements', () => {
    expect(checkRequirements([{ name: 'a', version: '1' }, { name: 'engine_version', version: '99' }], versions)).toHaveLength(2);
    expect(checkRequirements(undefined, versions)).toEqual([]);
  });
});

describe('checkPluginVersions', () => {
  const loaded = parseFalcoPluginVersions(BODY);
  it('accepts a loaded compatible plugin or alternative', () => {
    expect(checkPluginVersions([{ name: 'json', version: '0.7.0' }], loaded)).toEqual([]);
    expect(checkPluginVersions([{ name: 'k8saudit-eks', version: '0.5.0', alternatives: [{ name: 'k8saudit', version: '0.8.0' }] }], loaded)).toEqual([]);
  });
  it('reports old and missing plugins', () => {
    expect(checkPluginVersions([{ name: 'json', version: '0.8.0' }, { name: 'cloudtrail', version: '0.10.0' }], loaded).map((f) => f.message)).toEqual([
      'requires plugin json 0.8.0, Falco reports 0.7.3',
      'requires plugin cloudtrail 0.10.0, Falco has not loaded it',
    ]);
  });
});
