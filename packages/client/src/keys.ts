// Device key pairs and signatures with node-forge, so the same code runs in Node and in browsers: RSA-2048 generation
// (native crypto where the platform offers it), RSASSA-PKCS1-v1_5 SHA-256 signatures, base64url.
import forge from 'node-forge';

export interface DeviceKeyPair {
  privateKeyPem: string;
  /** SPKI PEM: what POST /v1/devices takes. */
  publicKeyPem: string;
}

/** Makes a fresh RSA-2048 key pair on this device; the private half never leaves it. */
export function generateDeviceKeyPair(): Promise<DeviceKeyPair> {
  return new Promise((resolve, reject) => {
    // workers: -1 lets forge use Web Workers in browsers; Node and WebCrypto paths are picked by forge itself.
    forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001, workers: -1 }, (err, pair) => {
      if (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      resolve({ privateKeyPem: forge.pki.privateKeyToPem(pair.privateKey), publicKeyPem: forge.pki.publicKeyToPem(pair.publicKey) });
    });
  });
}

export function base64url(binary: string): string {
  return forge.util.encode64(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function base64urlUtf8(text: string): string {
  return base64url(forge.util.encodeUtf8(text));
}

export function fromBase64urlUtf8(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return forge.util.decodeUtf8(forge.util.decode64(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
}

/** base64url RSASSA-PKCS1-v1_5 SHA-256 signature by the device key over the UTF-8 bytes of `message`. */
export function signUtf8(privateKeyPem: string, message: string): string {
  const key = forge.pki.privateKeyFromPem(privateKeyPem);
  const md = forge.md.sha256.create();
  md.update(message, 'utf8');
  return base64url(key.sign(md));
}

/** A compact RS256 JWT signed by the device key (the JWT-bearer assertion of RFC 7523). */
export function signJwt(privateKeyPem: string, claims: Record<string, unknown>): string {
  const input = `${base64urlUtf8(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64urlUtf8(JSON.stringify(claims))}`;
  return `${input}.${signUtf8(privateKeyPem, input)}`;
}

export function randomId(): string {
  return forge.util.bytesToHex(forge.random.getBytesSync(16));
}
