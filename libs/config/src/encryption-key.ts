const KEY_BYTES = 32;

/** A 256-bit key given as 64 hex characters or as base64 (standard or URL-safe). */
export function decodeEncryptionKey(encoded: string): Buffer | null {
  const text = encoded.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return key.length === KEY_BYTES ? key : null;
  }
  return null;
}
