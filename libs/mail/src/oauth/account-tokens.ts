import { AppConfig } from '@app/config';
import { CredentialCipher } from '@app/crypto';
import { AccountRepository } from '@app/database';
import type { MailAccount } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';

import { AccountNotFoundError, AccountReauthRequiredError, OAuthProviderUnavailableError } from '../errors.js';
import { GrantRefusedError, OAuthTokenEndpoint } from './oauth-token-endpoint.js';

type LockedOutcome = { token: string } | { reauthRequired: string };

/**
 * The access tokens of OAuth2 accounts. A token is refreshed before it expires (within
 * OAUTH_REFRESH_SKEW_SECONDS) or when a server refused it. A refresh runs under the account row's
 * lock, so across every process and replica one refresher at a time reaches the token endpoint:
 * the others wait for the lock, then find a token other than the one they gave up on and take it.
 * The new tokens and their expiry are written in the transaction that holds the lock.
 *
 * A refused grant (`invalid_grant`) marks the account `reauth_required` in that transaction.
 * From then on no caller contacts the endpoint for it, whatever is queued: the state is checked
 * first, until a client stores new tokens.
 */
@Injectable()
export class AccountTokens {
  private readonly logger = new Logger(AccountTokens.name);

  constructor(
    private readonly accounts: AccountRepository,
    private readonly cipher: CredentialCipher,
    private readonly endpoint: OAuthTokenEndpoint,
    private readonly config: AppConfig,
  ) {}

  /**
   * A token to log in with, for an account loaded with its secrets. `rejected`: the token a server
   * just refused, which is then never handed out again.
   */
  async accessToken(account: MailAccount, rejected?: string): Promise<string> {
    if (account.authState === 'reauth_required')
      throw new AccountReauthRequiredError(account.id, account.authError ?? 'the provider refused the refresh token');
    const current = account.encryptedAccessToken ? this.cipher.decrypt(account.encryptedAccessToken) : null;
    if (current !== null && rejected === undefined && !this.expiresSoon(account.tokenExpiresAt)) return current;
    return this.refresh(account.id, rejected ?? current);
  }

  private async refresh(accountId: string, stale: string | null): Promise<string> {
    const outcome = await this.accounts.withLockedSecrets<LockedOutcome>(accountId, async (locked, save) => {
      if (locked.authState === 'reauth_required')
        return { reauthRequired: locked.authError ?? 'the provider refused the refresh token' };
      const stored = locked.encryptedAccessToken ? this.cipher.decrypt(locked.encryptedAccessToken) : null;
      // Another holder refreshed while this one waited: its token is new to us and still valid,
      // even when its lifetime is shorter than the skew.
      if (stored !== null && stored !== stale && !this.expired(locked.tokenExpiresAt)) return { token: stored };

      const provider = locked.oauthProvider ? this.config.oauth.providers.get(locked.oauthProvider) : undefined;
      if (!provider || !locked.encryptedRefreshToken)
        throw new OAuthProviderUnavailableError(locked.oauthProvider ?? '(none)');
      try {
        const grant = await this.endpoint.refresh(provider, this.cipher.decrypt(locked.encryptedRefreshToken));
        await save({
          encryptedAccessToken: this.cipher.encrypt(grant.accessToken),
          tokenExpiresAt: grant.expiresAt,
          ...(grant.refreshToken ? { encryptedRefreshToken: this.cipher.encrypt(grant.refreshToken) } : {}),
        });
        this.logger.log({ accountId, provider: provider.id }, 'OAuth2 access token refreshed');
        return { token: grant.accessToken };
      } catch (error: unknown) {
        if (!(error instanceof GrantRefusedError)) throw error;
        await save({ authState: 'reauth_required', authError: error.reason, encryptedAccessToken: null });
        this.logger.warn(
          { accountId, provider: provider.id, reason: error.reason },
          'The provider refused the refresh token: the account needs to be authorised again',
        );
        return { reauthRequired: error.reason };
      }
    });
    if (outcome === null) throw new AccountNotFoundError(accountId);
    if ('reauthRequired' in outcome) throw new AccountReauthRequiredError(accountId, outcome.reauthRequired);
    return outcome.token;
  }

  private expiresSoon(expiresAt: Date | null): boolean {
    return expiresAt !== null && expiresAt.getTime() - this.config.oauth.refreshSkewMs <= Date.now();
  }

  private expired(expiresAt: Date | null): boolean {
    return expiresAt !== null && expiresAt.getTime() <= Date.now();
  }
}
