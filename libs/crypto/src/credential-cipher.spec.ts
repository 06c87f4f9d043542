import { loadConfig } from '@app/config';

import {
  CredentialCipher,
  CredentialDecryptionError,
  EncryptionKeyMissingError,
  keyIdOf,
} from './credential-cipher.js';

const OLD_KEY = Buffer.alloc(32, 1);
const NEW_KEY = Buffer.alloc(32, 2);

const cipherWith = (current: Buffer | null, previous: Buffer[] = []): CredentialCipher =>
  new CredentialCipher(
    loadConfig({
      ...(current ? { ENCRYPTION_KEY: current.toString('base64') } : {}),
      ...(previous.length ? { ENCRYPTION_KEYS: previous.map((key) => key.toString('hex')).join(',') } : {}),
    }),
  );

describe('CredentialCipher', () => {
  it('round-trips a password and never stores it in clear', () => {
    const sut = cipherWith(NEW_KEY);

    const stored = sut.encrypt('s3cret pässword');

    expect(stored).not.toContain('s3cret');
    expect(stored.startsWith(`v1:${keyIdOf(NEW_KEY)}:`)).toBe(true);
    expect(sut.decrypt(stored)).toBe('s3cret pässword');
  });

  it('uses a fresh IV every time', () => {
    const sut = cipherWith(NEW_KEY);

    expect(sut.encrypt('same')).not.toBe(sut.encrypt('same'));
  });

  it('still decrypts values of a previous key after rotation and flags them for re-encryption', () => {
    const before = cipherWith(OLD_KEY).encrypt('password');
    const sut = cipherWith(NEW_KEY, [OLD_KEY]);

    expect(sut.decrypt(before)).toBe('password');
    expect(sut.needsReencryption(before)).toBe(true);
    expect(sut.needsReencryption(sut.encrypt('password'))).toBe(false);
  });

  it('fails loudly on tampered ciphertext, tag or key id', () => {
    const sut = cipherWith(NEW_KEY, [OLD_KEY]);
    const parts = sut.encrypt('password').split(':');
    const flip = (text: string): string => {
      const bytes = Buffer.from(text, 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 0xff;
      return bytes.toString('base64');
    };

    expect(() => sut.decrypt([...parts.slice(0, 4), flip(parts[4] ?? '')].join(':'))).toThrow(
      CredentialDecryptionError,
    );
    expect(() => sut.decrypt([...parts.slice(0, 3), flip(parts[3] ?? ''), parts[4]].join(':'))).toThrow(
      CredentialDecryptionError,
    );
    expect(() => sut.decrypt(['v1', keyIdOf(OLD_KEY), ...parts.slice(2)].join(':'))).toThrow(CredentialDecryptionError);
    expect(() => sut.decrypt('plain-text-password')).toThrow(CredentialDecryptionError);
  });

  it('refuses a value encrypted under a key that is no longer configured', () => {
    const stored = cipherWith(OLD_KEY).encrypt('password');

    expect(() => cipherWith(NEW_KEY).decrypt(stored)).toThrow(/not configured/);
  });

  it('refuses to encrypt without a key', () => {
    expect(() => cipherWith(null).encrypt('password')).toThrow(EncryptionKeyMissingError);
  });
});
