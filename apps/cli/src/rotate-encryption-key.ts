import { loadConfigOrExit } from '@app/config';
import { CredentialCipher } from '@app/crypto';
import { AccountRepository, TenantRepository } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { NestFactory } from '@nestjs/core';

import { CliModule } from './cli.module.js';

/**
 * Key rotation, step two: after ENCRYPTION_KEY was set to the new key and the old one moved to
 * ENCRYPTION_KEYS, rewrite every stored credential under the new key. Safe to re-run; once it
 * reports zero, the old key can be removed from ENCRYPTION_KEYS.
 */
async function rotate(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: ['error'] });
  try {
    const cipher = app.get(CredentialCipher);
    const accounts = app.get(AccountRepository);
    const tenantContext = app.get(TenantContext);
    let rotated = 0;
    for (const tenantId of await app.get(TenantRepository).listIds()) {
      rotated += await tenantContext.run(tenantId, async () => {
        let count = 0;
        for (const account of await accounts.listIdsWithSecret()) {
          if (!cipher.needsReencryption(account.encryptedPassword)) continue;
          await accounts.update(account.id, { encryptedPassword: cipher.encrypt(cipher.decrypt(account.encryptedPassword)) });
          count += 1;
        }
        return count;
      });
    }
    process.stdout.write(`Re-encrypted ${rotated} credential(s) under key ${cipher.currentKeyId ?? '(none)'}\n`);
  } finally {
    await app.close();
  }
}

await rotate();
