import { CredentialCipher } from '@app/crypto';
import { AccountRepository } from '@app/database';
import type { MailAccount } from '@app/database';
import { Injectable } from '@nestjs/common';

import { AccountNotFoundError } from './errors.js';
import type { MailServerSettings } from './mail-server-settings.js';

export interface AccountConnection {
  account: MailAccount;
  imap: MailServerSettings;
  smtp: MailServerSettings;
}

/**
 * Loads an account of the current tenant and decrypts its password into ready-to-use IMAP and
 * SMTP settings. The clear password lives only in the returned object, never in logs or rows.
 */
@Injectable()
export class AccountMailSettings {
  constructor(
    private readonly accounts: AccountRepository,
    private readonly cipher: CredentialCipher,
  ) {}

  async forAccount(accountId: string): Promise<AccountConnection> {
    const account = await this.accounts.findByIdWithSecret(accountId);
    if (!account) throw new AccountNotFoundError(accountId);
    return this.connectionOf(account);
  }

  /** The settings of an account already loaded with its encrypted password. */
  connectionOf(account: MailAccount): AccountConnection {
    const password = this.cipher.decrypt(account.encryptedPassword);
    const { encryptedPassword: _secret, ...withoutSecret } = account;
    return {
      account: withoutSecret as MailAccount,
      imap: {
        host: account.imapHost,
        port: account.imapPort,
        security: account.imapSecurity,
        username: account.imapUsername,
        password,
        allowSelfSignedCertificates: account.allowSelfSignedCertificates,
      },
      smtp: {
        host: account.smtpHost,
        port: account.smtpPort,
        security: account.smtpSecurity,
        username: account.smtpUsername,
        password,
        allowSelfSignedCertificates: account.allowSelfSignedCertificates,
      },
    };
  }
}
