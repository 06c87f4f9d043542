import { CredentialCipher } from '@app/crypto';
import { AccountRepository } from '@app/database';
import type { MailAccount } from '@app/database';
import { Injectable } from '@nestjs/common';

import { AccountNotFoundError } from './errors.js';
import { isAuthenticationFailure } from './imap/imap-session.js';
import type { MailServerEndpoint, MailServerSettings } from './mail-server-settings.js';
import { AccountTokens } from './oauth/account-tokens.js';

export interface AccountConnection {
  account: MailAccount;
  imap: MailServerSettings;
  smtp: MailServerSettings;
}

/** A server's refusal of the credentials: IMAP NO [AUTHENTICATIONFAILED] or SMTP 535 (nodemailer's EAUTH). */
export function isLoginRefusal(error: unknown): boolean {
  if (isAuthenticationFailure(error)) return true;
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown; responseCode?: unknown };
  return candidate.code === 'EAUTH' || candidate.responseCode === 535;
}

/**
 * Loads an account of the current tenant and turns its credentials into ready-to-use IMAP and
 * SMTP settings: the decrypted password, or an OAuth2 access token that is refreshed first when
 * it is about to expire. Clear secrets live only in the returned object, never in logs or rows.
 */
@Injectable()
export class AccountMailSettings {
  constructor(
    private readonly accounts: AccountRepository,
    private readonly cipher: CredentialCipher,
    private readonly tokens: AccountTokens,
  ) {}

  async forAccount(accountId: string): Promise<AccountConnection> {
    const account = await this.accounts.findByIdWithSecret(accountId);
    if (!account) throw new AccountNotFoundError(accountId);
    return this.connectionOf(account);
  }

  /** The settings of an account already loaded with its secrets. */
  async connectionOf(account: MailAccount, rejectedToken?: string): Promise<AccountConnection> {
    const credential =
      account.authType === 'oauth2'
        ? { accessToken: await this.tokens.accessToken(account, rejectedToken) }
        : { password: this.cipher.decrypt(account.encryptedPassword ?? '') };
    const {
      encryptedPassword: _password,
      encryptedAccessToken: _accessToken,
      encryptedRefreshToken: _refreshToken,
      ...withoutSecrets
    } = account;
    const imap: MailServerEndpoint = {
      host: account.imapHost,
      port: account.imapPort,
      security: account.imapSecurity,
      username: account.imapUsername,
      allowSelfSignedCertificates: account.allowSelfSignedCertificates,
    };
    const smtp: MailServerEndpoint = {
      host: account.smtpHost,
      port: account.smtpPort,
      security: account.smtpSecurity,
      username: account.smtpUsername,
      allowSelfSignedCertificates: account.allowSelfSignedCertificates,
    };
    return {
      account: withoutSecrets as MailAccount,
      imap: { ...imap, ...credential },
      smtp: { ...smtp, ...credential },
    };
  }

  /**
   * Runs `attempt` (a login and what follows it); when the server refuses an OAuth2 account's
   * token, the token is refreshed once and `attempt` runs again with it. A refused password is
   * passed on as it is: trying it again cannot help.
   */
  async withLoginRetry<T>(
    connection: AccountConnection,
    attempt: (connection: AccountConnection) => Promise<T>,
  ): Promise<T> {
    try {
      return await attempt(connection);
    } catch (error: unknown) {
      const rejected = connection.imap.accessToken;
      if (rejected === undefined || !isLoginRefusal(error)) throw error;
      const account = await this.accounts.findByIdWithSecret(connection.account.id);
      if (!account) throw new AccountNotFoundError(connection.account.id);
      return attempt(await this.connectionOf(account, rejected));
    }
  }
}
