export {
  CredentialCipher,
  CredentialDecryptionError,
  EncryptionKeyMissingError,
  keyIdOf,
} from './credential-cipher.js';
export { CryptoModule } from './crypto.module.js';
