import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { AppConfig } from '@app/config';
import type { MailProvider } from '@app/config';
import { OAuthProviderUnavailableError, OAuthTokenEndpoint } from '@app/mail';
import { InjectRedis } from '@app/redis';
import { TenantContext } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

import { AccountsService } from '../accounts/accounts.service.js';
import { OAuthAuthorizationFailedError, OAuthProviderNotFoundError, OAuthStateInvalidError } from './errors.js';

/** How long a started authorisation may take, from start to callback. */
const STATE_LIFETIME_MS = 10 * 60_000;

interface StateClaims {
  /** Names the PKCE verifier in Redis; deleting it there is what makes the state single-use. */
  nonce: string;
  tenant: string;
  user: string | null;
  provider: string;
  expiresAt: number;
}

export interface CompletedAuthorization {
  accountId: string;
  email: string;
}

/**
 * The authorisation code flow with PKCE (RFC 7636, S256) for clients that do not run their own.
 * `start` hands out the provider's authorize URL with a `state` that is signed (HMAC with a key
 * derived from ENCRYPTION_KEY), bound to the tenant, user and provider, valid for ten minutes and
 * good for one callback: its nonce names the code verifier in Redis, which the callback takes
 * with GETDEL. The callback runs without a bearer token (the browser comes from the provider), as
 * the tenant the state names; it exchanges the code, reads the mailbox address and creates the
 * account, or stores the new tokens on the tenant's account with that address.
 */
@Injectable()
export class OAuthFlowService {
  private readonly logger = new Logger(OAuthFlowService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly tokenEndpoint: OAuthTokenEndpoint,
    private readonly accounts: AccountsService,
    private readonly tenant: TenantContext,
    @InjectRedis() private readonly redis: Redis,
  ) {}

  async start(providerId: string, user: string | null, loginHint?: string): Promise<{ url: string; expiresAt: Date }> {
    const provider = this.providerOf(providerId);
    const oauth = this.tokenEndpoint.oauthOf(provider);
    const redirectUri = this.redirectUriOf(provider);
    const nonce = randomBytes(16).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + STATE_LIFETIME_MS;
    await this.redis.set(this.stateKey(nonce), verifier, 'PX', STATE_LIFETIME_MS);
    const state = this.sign({ nonce, tenant: this.tenant.tenantId, user, provider: provider.id, expiresAt });

    const url = new URL(oauth.authorizeUrl);
    const parameters: Record<string, string> = {
      ...oauth.authorizeParams,
      response_type: 'code',
      client_id: oauth.clientId,
      redirect_uri: redirectUri,
      scope: oauth.scopes.join(' '),
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(loginHint ? { login_hint: loginHint } : {}),
    };
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    return { url: url.toString(), expiresAt: new Date(expiresAt) };
  }

  /** Where the browser goes afterwards, when OAUTH_COMPLETION_URL is set. */
  completionUrl(outcome: { accountId: string } | { error: string }): string | null {
    if (!this.config.oauth.completionUrl) return null;
    const url = new URL(this.config.oauth.completionUrl);
    if ('accountId' in outcome) {
      url.searchParams.set('status', 'connected');
      url.searchParams.set('accountId', outcome.accountId);
    } else {
      url.searchParams.set('status', 'failed');
      url.searchParams.set('error', outcome.error);
    }
    return url.toString();
  }

  /** Checks and spends the state first: a refused state changes nothing, and no state works twice. */
  async complete(
    providerId: string,
    query: { state: string; code?: string; error?: string },
  ): Promise<CompletedAuthorization> {
    const claims = this.verify(query.state, providerId);
    const verifier = await this.redis.getdel(this.stateKey(claims.nonce));
    if (verifier === null) throw new OAuthStateInvalidError('the state was used already or has expired');
    this.tenant.enter(claims.tenant);
    if (query.error !== undefined || query.code === undefined)
      throw new OAuthAuthorizationFailedError(
        `the provider did not authorise the account: ${query.error ?? 'no code'}`,
      );

    const provider = this.providerOf(providerId);
    const grant = await this.tokenEndpoint.exchangeCode(provider, query.code, verifier, this.redirectUriOf(provider));
    if (!grant.refreshToken)
      throw new OAuthAuthorizationFailedError('the provider granted no refresh token (offline access was not granted)');
    const email = await this.tokenEndpoint.mailboxAddress(provider, grant);
    if (!email) throw new OAuthAuthorizationFailedError('the provider did not say which mailbox was authorised');
    const auth = {
      type: 'oauth2' as const,
      provider: provider.id,
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      ...(grant.expiresAt ? { expiresAt: grant.expiresAt.toISOString() } : {}),
    };
    const existing = await this.accounts.findIdByEmail(email);
    const account = existing
      ? await this.accounts.update(existing, { auth }, true)
      : await this.accounts.create({ email, provider: provider.id, auth }, true);
    this.logger.log(
      { accountId: account.id, provider: provider.id, user: claims.user, created: existing === null },
      'Account authorised through OAuth2',
    );
    return { accountId: account.id, email: account.email };
  }

  private providerOf(providerId: string): MailProvider {
    const provider = this.config.oauth.providers.get(providerId);
    if (!provider) throw new OAuthProviderNotFoundError(providerId);
    return provider;
  }

  private redirectUriOf(provider: MailProvider): string {
    const base = this.config.oauth.redirectBaseUrl;
    if (!base) throw new OAuthProviderUnavailableError(provider.id, 'OAUTH_REDIRECT_BASE_URL is not set');
    return `${base}/api/oauth/${provider.id}/callback`;
  }

  private stateKey(nonce: string): string {
    return `oauth-state:${nonce}`;
  }

  private signingKey(): Buffer {
    const key = this.config.encryption.currentKey;
    if (!key) throw new OAuthProviderUnavailableError('(any)', 'ENCRYPTION_KEY is not set');
    // A key of its own, so a state signature can never be mistaken for anything the cipher made.
    return createHmac('sha256', key).update('oauth-state-signing').digest();
  }

  private sign(claims: StateClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${createHmac('sha256', this.signingKey()).update(payload).digest('base64url')}`;
  }

  private verify(state: string, providerId: string): StateClaims {
    const [payload, signature, ...rest] = state.split('.');
    if (!payload || !signature || rest.length > 0) throw new OAuthStateInvalidError('the state is malformed');
    const expected = createHmac('sha256', this.signingKey()).update(payload).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new OAuthStateInvalidError('the state was not issued by this service or was altered');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as StateClaims;
    if (claims.provider !== providerId) throw new OAuthStateInvalidError('the state was issued for another provider');
    if (claims.expiresAt <= Date.now()) throw new OAuthStateInvalidError('the state has expired');
    return claims;
  }
}
