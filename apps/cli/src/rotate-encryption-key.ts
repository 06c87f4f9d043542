import { parseArgs } from 'node:util';

import { loadConfigOrExit } from '@app/config';
import { CredentialCipher, CredentialDecryptionError } from '@app/crypto';
import { AccountRepository, TenantRepository } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { NestFactory } from '@nestjs/core';

import { CliModule } from './cli.module.js';

/**
 * Key rotation, step two: after ENCRYPTION_KEY was set to the new key and the old one moved to
 * ENCRYPTION_KEYS, rewrite every stored credential under the new key (`--tenant T` limits it to
 * one tenant). Safe to re-run; once it reports zero, the old key can be removed from
 * ENCRYPTION_KEYS. A credential that does not decrypt is named and makes the exit status 1; the
 * others are still rotated.
 */
async function rotate(): Promise<void> {
  const config = loadConfigOrExit();
  const { values } = parseArgs({ options: { tenant: { type: 'string' } } });
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: ['error'] });
  try {
    const cipher = app.get(CredentialCipher);
    const accounts = app.get(AccountRepository);
    const tenantContext = app.get(TenantContext);
    let rotated = 0;
    const unreadable: string[] = [];
    const tenants = values.tenant ? [values.tenant] : await app.get(TenantRepository).listIds();
    for (const tenantId of tenants) {
      await tenantContext.run(tenantId, async () => {
        for (const account of await accounts.listIdsWithSecret()) {
          const secrets = {
            encryptedPassword: account.encryptedPassword,
            encryptedAccessToken: account.encryptedAccessToken,
            encryptedRefreshToken: account.encryptedRefreshToken,
          };
          const stale = Object.entries(secrets).filter(
            (entry): entry is [keyof typeof secrets, string] => entry[1] !== null && cipher.needsReencryption(entry[1]),
          );
          if (stale.length === 0) continue;
          try {
            await accounts.update(
              account.id,
              Object.fromEntries(stale.map(([column, sealed]) => [column, cipher.encrypt(cipher.decrypt(sealed))])),
            );
            rotated += stale.length;
          } catch (error: unknown) {
            if (!(error instanceof CredentialDecryptionError)) throw error;
            unreadable.push(`${tenantId}/${account.id}: ${error.message}`);
          }
        }
      });
    }
    process.stdout.write(`Re-encrypted ${rotated} credential(s) under key ${cipher.currentKeyId ?? '(none)'}\n`);
    if (unreadable.length > 0) {
      process.stderr.write(`${unreadable.length} credential(s) could not be decrypted:\n${unreadable.join('\n')}\n`);
      process.exitCode = 1;
    }
  } finally {
    await app.close();
  }
}

await rotate();
