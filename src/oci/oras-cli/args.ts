import { Annotations } from '../descriptor.js';
import { MediaTypes } from '../media-types.js';

/**
 * Argument lists for the `oras` CLI (oras >= 1.2; https://oras.land/docs/commands/oras_push and
 * siblings), built from the same inputs as the native path. Pure: no I/O, unit-tested.
 */

/** Connection flags shared by every remote command. */
export interface OrasRemote {
  plainHttp?: boolean;
  insecure?: boolean;
  caFile?: string;
  /** `basic`: `-u <user> --password-stdin` (the password goes on stdin, never in argv). */
  credential?: { kind: 'basic'; username: string } | { kind: 'identity-token' };
}

export function remoteFlags(r: OrasRemote): string[] {
  const flags: string[] = [];
  if (r.plainHttp) flags.push('--plain-http');
  if (r.insecure) flags.push('--insecure');
  if (r.caFile) flags.push('--ca-file', r.caFile);
  if (r.credential?.kind === 'basic') flags.push('--username', r.credential.username, '--password-stdin');
  if (r.credential?.kind === 'identity-token') flags.push('--identity-token-stdin');
  return flags;
}

/**
 * The `--annotation-file` JSON for one falcoctl manifest: only `$manifest` annotations (`created`,
 * and `source` when given). The config keeps no annotation (falcoctl strips the file store's title),
 * and oras puts the title on the layer itself.
 */
export function annotationFile(created: string, source?: string): string {
  const manifest: Record<string, string> = { [Annotations.created]: created };
  if (source) manifest[Annotations.source] = source;
  return JSON.stringify({ $manifest: manifest });
}

export interface OrasPushManifestInput extends OrasRemote {
  /** `registry/repository`, pushed untagged (oras CopyGraph); tags are applied afterwards. */
  repository: string;
  configPath: string;
  configMediaType: string;
  /** Layer file name relative to the working directory oras runs in: it becomes the title. */
  layerName: string;
  layerMediaType: string;
  annotationFilePath: string;
  /** Where oras writes the manifest it pushed, to check it against rulesctl's bytes. */
  exportManifestPath: string;
}

/**
 * `oras push`: no `--artifact-type` (falcoctl manifests have none), `--config file:mediatype` with
 * `--image-spec v1.0` (oras' shape for a manifest with a config and no artifact type), the layer as
 * `name:mediatype`, manifest annotations from the file.
 */
export function pushManifestArgs(i: OrasPushManifestInput): string[] {
  return [
    'push', i.repository,
    '--config', `${i.configPath}:${i.configMediaType}`,
    '--annotation-file', i.annotationFilePath,
    '--image-spec', 'v1.0',
    '--export-manifest', i.exportManifestPath,
    '--no-tty',
    ...remoteFlags(i),
    `${i.layerName}:${i.layerMediaType}`,
  ];
}

/** `oras manifest push <repo>:<tag> <file> --media-type <mt>`: the plugin index under its first tag. */
export function manifestPushArgs(r: OrasRemote & { reference: string; file: string; mediaType?: string }): string[] {
  return ['manifest', 'push', r.reference, r.file, '--media-type', r.mediaType ?? MediaTypes.ociIndex, ...remoteFlags(r)];
}

/** `oras tag <repo>@<digest> <tag>...` (oras TagN). */
export function tagArgs(r: OrasRemote & { reference: string; tags: readonly string[] }): string[] {
  return ['tag', r.reference, ...r.tags, ...remoteFlags(r)];
}

/** `oras manifest fetch <ref>`: the raw bytes on stdout (platform selection is done by rulesctl). */
export function manifestFetchArgs(r: OrasRemote & { reference: string }): string[] {
  return ['manifest', 'fetch', r.reference, ...remoteFlags(r)];
}

/** `oras blob fetch <repo>@<digest> --output -`: a blob on stdout (the config). */
export function blobFetchArgs(r: OrasRemote & { reference: string }): string[] {
  return ['blob', 'fetch', r.reference, '--output', '-', ...remoteFlags(r)];
}

/**
 * `oras pull <repo>@<manifest digest> -o <dir>`: by the already-selected manifest's digest, so no
 * `--platform` is needed (oras would compare it with the Falco config, which has no platform).
 */
export function pullArgs(r: OrasRemote & { reference: string; outputDir: string }): string[] {
  return ['pull', r.reference, '--output', r.outputDir, '--no-tty', ...remoteFlags(r)];
}
