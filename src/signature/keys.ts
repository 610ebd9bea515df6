import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import { ErrorCodes, RulesctlError } from '../errors.js';

export interface KeyReadOptions {
  signal?: AbortSignal;
  /** Reads a key file; defaults to `fs.promises.readFile`. */
  readFile?: (path: string, opts: { signal?: AbortSignal }) => Promise<Buffer | string>;
}

const UNSUPPORTED_SCHEMES = /^(env|k8s|awskms|gcpkms|azurekms|hashivault|pkcs11|https?):\/\//;

/**
 * Loads the public key of a `key` policy: inline PEM, or a path to a PEM file (cosign.pub,
 * `openssl pkey -pubout`). cosign's KMS, `env://` and URL key references are refused with a hint.
 * @throws RulesctlError ERR_SIGNATURE naming the reference (never the key bytes).
 */
export async function loadPublicKey(keyRef: string, opts: KeyReadOptions = {}): Promise<KeyObject> {
  const pem = await readPem(keyRef, 'public key', opts);
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ec' && key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ed25519') {
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
    }
    return key;
  } catch (err) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `cannot read the public key ${describeRef(keyRef)}: ${(err as Error).message}`, {
      cause: err,
      hint: 'give a PEM "PUBLIC KEY" (cosign.pub, or `openssl pkey -pubout`)',
    });
  }
}

/**
 * Loads an ECDSA P-256 signing key from PEM (PKCS#8 `PRIVATE KEY`, or SEC1 `EC PRIVATE KEY`;
 * `ENCRYPTED PRIVATE KEY` with `passphrase`). cosign's own `ENCRYPTED SIGSTORE PRIVATE KEY`
 * (scrypt + NaCl secretbox) is refused: node:crypto has no XSalsa20-Poly1305.
 */
export function loadSigningKey(pem: string | Buffer, passphrase?: string): KeyObject {
  const text = pem.toString();
  if (text.includes('BEGIN ENCRYPTED SIGSTORE PRIVATE KEY') || text.includes('BEGIN ENCRYPTED COSIGN PRIVATE KEY')) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, 'cosign-encrypted private keys (ENCRYPTED SIGSTORE PRIVATE KEY) are not supported', {
      hint: 'sign with a PKCS#8 EC P-256 key: `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem`; `cosign import-key-pair --key key.pem` makes the matching cosign.key/cosign.pub for cosign',
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? { key: text } : { key: text, passphrase });
  } catch (err) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `cannot read the signing key: ${(err as Error).message}`, {
      cause: err,
      hint: 'give a PEM EC P-256 private key (PKCS#8 "PRIVATE KEY" or "EC PRIVATE KEY")',
    });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `the signing key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''}, not EC P-256`.trim(), {
      hint: 'cosign signs with ECDSA P-256: `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`',
    });
  }
  return key;
}

/** Reads and loads a signing key file for `registry push --sign --key FILE` (see {@link loadSigningKey}). */
export async function readSigningKey(path: string, opts: KeyReadOptions & { passphrase?: string } = {}): Promise<KeyObject> {
  return loadSigningKey(await readPem(path, 'private key', opts), opts.passphrase);
}

/** ECDSA-SHA256 signature, ASN.1 DER (what cosign writes and reads). */
export function signBytes(key: KeyObject, data: Uint8Array): Buffer {
  return cryptoSign('sha256', data, key);
}

/** Verifies a cosign signature over `data` with SHA-256 (Ed25519: pure). Never throws on bad input. */
export function verifyBytes(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return cryptoVerify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key, signature);
  } catch {
    return false;
  }
}

/** The Sigstore bundle key hint: base64 SHA-256 of the DER SubjectPublicKeyInfo. */
export function keyHint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** PEM of the public half, for `cosign.pub`. */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

async function readPem(keyRef: string, what: string, opts: KeyReadOptions): Promise<string> {
  if (keyRef.trimStart().startsWith('-----BEGIN')) return keyRef;
  if (UNSUPPORTED_SCHEMES.test(keyRef)) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `${what} reference "${keyRef}" is not supported`, {
      hint: 'put the PEM in a file and give its path, or the PEM itself, as key',
    });
  }
  const readFile = opts.readFile ?? ((p: string, o: { signal?: AbortSignal }) => fsReadFile(p, o.signal ? { signal: o.signal } : {}));
  try {
    return (await readFile(keyRef, { signal: opts.signal })).toString();
  } catch (err) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `cannot read the ${what} file "${keyRef}": ${(err as Error).message}`, { cause: err });
  }
}

function describeRef(keyRef: string): string {
  return keyRef.trimStart().startsWith('-----BEGIN') ? '(inline PEM)' : `"${keyRef}"`;
}
