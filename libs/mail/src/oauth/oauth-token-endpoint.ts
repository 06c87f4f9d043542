import { AppConfig } from '@app/config';
import type { MailProvider, ProviderOAuth } from '@app/config';
import { Injectable } from '@nestjs/common';

import { PolicyHttpClient } from '../egress/policy-http-client.js';
import { OAuthProviderUnavailableError, OAuthTokenEndpointError, OutboundRefusedError } from '../errors.js';

/** What a token endpoint granted. A refresh may omit the refresh token: the old one stays valid then. */
export interface TokenGrant {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
  idToken: string | null;
}

/** The provider refused the grant itself (RFC 6749 section 5.2 `invalid_grant`): retrying cannot help. */
export class GrantRefusedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

type Json = Record<string, unknown>;

function parseJson(body: string): Json | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}

/** An address taken from a provider is used as an account's email: keep it to what an address can be. */
function emailOf(claims: Json | null): string | null {
  const email = claims?.email ?? claims?.preferred_username ?? claims?.upn;
  return typeof email === 'string' && /^[^\s@]+@[^\s@]+$/.test(email) && email.length <= 320 ? email : null;
}

/**
 * The token endpoint and userinfo of a provider, reached through OutboundPolicy like every other
 * outbound connection. Tokens are never part of an error message.
 */
@Injectable()
export class OAuthTokenEndpoint {
  constructor(
    private readonly http: PolicyHttpClient,
    private readonly config: AppConfig,
  ) {}

  oauthOf(provider: MailProvider): ProviderOAuth & { clientId: string } {
    const oauth = provider.oauth;
    if (!oauth) throw new OAuthProviderUnavailableError(provider.id, 'it takes passwords');
    if (!oauth.clientId) throw new OAuthProviderUnavailableError(provider.id, 'no client id is configured');
    return { ...oauth, clientId: oauth.clientId };
  }

  async refresh(provider: MailProvider, refreshToken: string): Promise<TokenGrant> {
    return this.grant(provider, { grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  async exchangeCode(
    provider: MailProvider,
    code: string,
    codeVerifier: string,
    redirectUri: string,
  ): Promise<TokenGrant> {
    return this.grant(provider, {
      grant_type: 'authorization_code',
      code,
      code_verifier: codeVerifier,
      redirect_uri: redirectUri,
    });
  }

  /**
   * The mailbox address of a fresh grant: the ID token's `email` claim (read without a signature
   * check: it came straight from the token endpoint over the connection we opened, OpenID Connect
   * Core section 3.1.3.7), else the userinfo endpoint's.
   */
  async mailboxAddress(provider: MailProvider, grant: TokenGrant): Promise<string | null> {
    const payload = grant.idToken?.split('.')[1];
    if (payload) {
      const fromIdToken = emailOf(parseJson(Buffer.from(payload, 'base64url').toString('utf8')));
      if (fromIdToken) return fromIdToken;
    }
    const userinfoUrl = provider.oauth?.userinfoUrl;
    if (!userinfoUrl) return null;
    const answer = await this.call(provider, () =>
      this.http.exchange(
        'GET',
        userinfoUrl,
        '',
        { accept: 'application/json', authorization: `Bearer ${grant.accessToken}` },
        this.config.oauth.tokenTimeoutMs,
      ),
    );
    if (answer.status !== 200) throw new OAuthTokenEndpointError(provider.id, `userinfo answered ${answer.status}`);
    return emailOf(parseJson(answer.body));
  }

  private async grant(provider: MailProvider, fields: Record<string, string>): Promise<TokenGrant> {
    const oauth = this.oauthOf(provider);
    const form = new URLSearchParams({
      ...fields,
      client_id: oauth.clientId,
      ...(oauth.clientSecret ? { client_secret: oauth.clientSecret } : {}),
    });
    const answer = await this.call(provider, () =>
      this.http.exchange(
        'POST',
        oauth.tokenUrl,
        form.toString(),
        { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        this.config.oauth.tokenTimeoutMs,
      ),
    );
    const body = parseJson(answer.body);
    if (answer.status >= 400 && answer.status < 500 && body?.error === 'invalid_grant') {
      const description = typeof body.error_description === 'string' ? body.error_description.slice(0, 300) : '';
      throw new GrantRefusedError(`invalid_grant${description ? `: ${description}` : ''}`);
    }
    const accessToken = body?.access_token;
    if (answer.status !== 200 || typeof accessToken !== 'string' || accessToken === '') {
      const error = typeof body?.error === 'string' ? ` (${body.error.slice(0, 100)})` : '';
      throw new OAuthTokenEndpointError(provider.id, `it answered ${answer.status}${error}`);
    }
    const expiresIn = Number(body?.expires_in);
    return {
      accessToken,
      refreshToken: typeof body?.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : null,
      expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null,
      idToken: typeof body?.id_token === 'string' ? body.id_token : null,
    };
  }

  private async call<T>(provider: MailProvider, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error: unknown) {
      if (error instanceof OutboundRefusedError) throw error;
      const detail =
        error instanceof Error ? (error.name === 'TimeoutError' ? 'no answer in time' : error.message) : String(error);
      throw new OAuthTokenEndpointError(provider.id, detail);
    }
  }
}
