/** What a credential source may return for a registry host (docker config.json semantics). */
export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token exchanged at the token realm (docker `identitytoken`). */
  | { kind: 'identity-token'; token: string }
  /** A bearer token sent as-is to the registry (docker `registrytoken`, OAuth access tokens). */
  | { kind: 'bearer'; token: string };

/**
 * Looks up credentials for a registry host (`ghcr.io`, `127.0.0.1:5000`). Returns undefined for
 * anonymous access. Implementations: explicit flags, the rulesctl/falcoctl credential file,
 * docker/podman config, credential helpers (src/oci/auth/credentials/).
 */
export type CredentialSource = (registry: string, opts?: { signal?: AbortSignal }) => Promise<Credential | undefined>;

export const anonymous: CredentialSource = async () => undefined;
