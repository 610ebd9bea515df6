/** Public programmatic API of rulesctl: re-exports only. */
export * from './errors.js';
export * from './oci/descriptor.js';
export * from './oci/media-types.js';
export type * from './oci/target.js';
