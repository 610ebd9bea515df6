/**
 * rulesctl's library API: the functions the CLI commands run, for programs that embed rulesctl.
 *
 *   import { push, pull, install, resolve, follow } from 'rulesctl';
 *
 * Lower-level building blocks (registry client, OCI layout store, copy engine, signatures) are
 * exported too, with their types.
 */
export { push, pull, install, resolve, follow } from './api/index.js';
export type { ClientOptions, IndexOptions, PushOptions, PullOptions, InstallOptions, ResolveOptions, ResolvedArtifactInfo, FollowOptions } from './api/index.js';
export type { InstallResult, InstalledArtifact } from './install/install.js';
export type { PullResult } from './artifact/pull.js';

export * from './errors.js';
export type { Logger, LogFields } from './log.js';
export { nullLogger, memoryLogger } from './log.js';
export * from './oci/descriptor.js';
export * from './oci/media-types.js';
export type * from './oci/target.js';
export { parseReference, formatReference } from './oci/reference.js';
export type { Reference } from './oci/reference.js';
export { createRegistryClient } from './oci/registry/client.js';
export type { RegistryClient, RegistryClientOptions } from './oci/registry/client.js';
export type { Credential, CredentialSource } from './oci/auth/types.js';
export { createCredentialSource } from './oci/auth/credentials/source.js';
export { openLayout, OciLayoutStore } from './oci/layout/store.js';
export { MemoryStore } from './oci/memory/store.js';
export { copy, copyGraph } from './oci/copy.js';
export { FalcoMediaTypes } from './artifact/media-types.js';
export type { ArtifactType } from './artifact/media-types.js';
export { validateRules } from './artifact/validate-rules.js';
export { diffRules } from './artifact/rules-diff.js';
export { verifyArtifact } from './signature/verify.js';
export { signArtifact } from './signature/sign.js';
