import { describe, expect, it } from 'vitest';
import { copy } from '../../../src/oci/copy.js';
import { openLayout } from '../../../src/oci/layout/store.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { skopeo } from '../../helpers/skopeo.js';
import { tmpDir } from '../../helpers/tmp.js';
import { pushMultiPlatform } from '../../unit/oci/layout/fixtures.js';

describe('copy between OCI layouts, checked with skopeo', () => {
  it('copies a multi-platform index skopeo copied, whole and per platform', async () => {
    const a = tmpDir('copy-a');
    const { index, children } = await pushMultiPlatform(await openLayout(a, { create: true }), 'plugin');
    const b = tmpDir('copy-b');
    const viaSkopeo = await skopeo(['copy', '--all', `oci:${a}:plugin`, `oci:${b}:plugin`]);
    expect(viaSkopeo.exitCode, viaSkopeo.stderr).toBe(0);

    const fromSkopeo = await openLayout(b);
    expect(await fromSkopeo.resolve('plugin')).toMatchObject({ mediaType: MediaTypes.ociIndex, digest: index.digest });

    const c = tmpDir('copy-c');
    const whole = await copy(fromSkopeo, 'plugin', await openLayout(c, { create: true }), ['plugin', 'latest']);
    expect(whole.descriptor.digest).toBe(index.digest);
    const raw = await skopeo(['inspect', '--raw', `oci:${c}:latest`]);
    expect(raw.exitCode, raw.stderr).toBe(0);
    expect(JSON.parse(raw.stdout)).toMatchObject({ mediaType: MediaTypes.ociIndex });
    const again = await skopeo(['copy', '--all', `oci:${c}:plugin`, `oci:${tmpDir('copy-d')}:plugin`]);
    expect(again.exitCode, again.stderr).toBe(0);

    const e = tmpDir('copy-e');
    const arm = await copy(fromSkopeo, 'plugin', await openLayout(e, { create: true }), 'arm', { platform: { os: 'linux', architecture: 'arm64' } });
    expect(arm.descriptor.digest).toBe(children[1]!.manifest.digest);
    const armRaw = await skopeo(['inspect', '--raw', `oci:${e}:arm`]);
    expect(armRaw.exitCode, armRaw.stderr).toBe(0);
    expect(JSON.parse(armRaw.stdout).layers[0].digest).toBe(children[1]!.layer.digest);
  });
});
