import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 'v1';

export class CredentialDecryptionError extends Error {}
export class EncryptionKeyMissingError extends Error {
  constructor() {
    super('ENCRYPTION_KEY is not set: account credentials cannot be stored');
  }
}

/** A short, non-secret fingerprint naming the key a value was encrypted with. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * AES-256-GCM for account passwords. Stored form: `v1:<keyId>:<iv>:<tag>:<ciphertext>` (base64
 * parts). The key id lets old keys from ENCRYPTION_KEYS keep decrypting after a rotation; the GCM
 * tag makes any tampering fail loudly instead of yielding a wrong password.
 */
@Injectable()
export class CredentialCipher {
  private readonly current: { id: string; key: Buffer } | null;
  private readonly keysById: ReadonlyMap<string, Buffer>;

  constructor(config: AppConfig) {
    const { currentKey, previousKeys } = config.encryption;
    this.current = currentKey ? { id: keyIdOf(currentKey), key: currentKey } : null;
    const all = [...(currentKey ? [currentKey] : []), ...previousKeys];
    this.keysById = new Map(all.map((key) => [keyIdOf(key), key]));
  }

  get currentKeyId(): string | null {
    return this.current?.id ?? null;
  }

  encrypt(plaintext: string): string {
    if (!this.current) throw new EncryptionKeyMissingError();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`${FORMAT_VERSION}:${this.current.id}`));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      FORMAT_VERSION,
      this.current.id,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      ciphertext.toString('base64'),
    ].join(':');
  }

  decrypt(stored: string): string {
    const [version, keyId, iv, tag, ciphertext, ...rest] = stored.split(':');
    if (version !== FORMAT_VERSION || !keyId || !iv || !tag || ciphertext === undefined || rest.length > 0) {
      throw new CredentialDecryptionError('Stored credential has an unknown format');
    }
    const key = this.keysById.get(keyId);
    if (!key)
      throw new CredentialDecryptionError(`Stored credential was encrypted with key ${keyId}, which is not configured`);
    try {
      const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(`${version}:${keyId}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new CredentialDecryptionError(
        'Stored credential failed authentication: it was altered or the key is wrong',
      );
    }
  }

  /** True when `stored` was encrypted under an older key and should be rewritten. */
  needsReencryption(stored: string): boolean {
    return stored.split(':')[1] !== this.current?.id;
  }
}
