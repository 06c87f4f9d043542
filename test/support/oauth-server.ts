import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import type { MailStack } from '../infra/mail-stack.js';

/** How the run's introspection endpoint (test/setup/global-setup.ts) reads an access token. */
function signedAccessToken(email: string, lifetimeMs: number): string {
  const key = process.env.TEST_OAUTH_SIGNING_KEY;
  if (!key) throw new Error('TEST_OAUTH_SIGNING_KEY is not set: run under the jest global setup');
  const payload = Buffer.from(
    JSON.stringify({ sub: email, exp: Date.now() + lifetimeMs, n: randomBytes(6).toString('hex') }),
  ).toString('base64url');
  return `mst1.${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

function unsignedIdToken(email: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ email, sub: email })}.`;
}

interface PendingCode {
  email: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
}

/**
 * A minimal OAuth2 authorisation server on loopback for tests: authorization code with PKCE
 * (S256 only), refresh, userinfo. Access tokens are accepted by the mail stack's Dovecot for as
 * long as `accessTokenLifetimeMs` says; revoked refresh tokens get `invalid_grant`. Counts what
 * reaches the token endpoint, and keeps every secret it issued for log checks.
 */
export class LocalOAuthServer {
  readonly clientId = `client-${randomBytes(4).toString('hex')}`;
  readonly clientSecret = `secret-${randomBytes(8).toString('hex')}`;
  accessTokenLifetimeMs = 3_600_000;
  /** Added before every token answer, so refreshes running at once overlap as they would against a real provider. */
  tokenDelayMs = 0;
  /** Who "signs in and consents" at the next authorize request. */
  consentingUser: string | null = null;
  readonly issued: string[] = [];
  private refreshHits = 0;
  private codeHits = 0;
  private readonly codes = new Map<string, PendingCode>();
  private readonly refreshTokens = new Map<string, string>();
  private readonly revoked = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<LocalOAuthServer> {
    let handler: (request: IncomingMessage, response: ServerResponse) => void = () => undefined;
    const server = createServer((request, response) => handler(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const instance = new LocalOAuthServer(server, `http://127.0.0.1:${port}`);
    handler = (request, response) => void instance.handle(request, response);
    return instance;
  }

  get refreshRequests(): number {
    return this.refreshHits;
  }

  get codeRequests(): number {
    return this.codeHits;
  }

  /** An OAUTH_PROVIDERS entry for this server and the stack's plain-text IMAP and submission ports. */
  provider(id: string, stack: MailStack): Record<string, unknown> {
    return {
      id,
      name: 'Local test provider',
      auth: 'oauth2',
      authorizeUrl: `${this.url}/authorize`,
      tokenUrl: `${this.url}/token`,
      userinfoUrl: `${this.url}/userinfo`,
      scopes: ['mail', 'email'],
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      imap: { host: stack.host, port: stack.imapPort, security: 'none' },
      smtp: { host: stack.host, port: stack.smtpPort, security: 'none' },
      filesSentCopy: false,
    };
  }

  /** Tokens as a client that runs its own authorisation flow would hold them. */
  issue(email: string): IssuedTokens {
    const refreshToken = this.remember(`rt-${randomBytes(16).toString('hex')}`);
    this.refreshTokens.set(refreshToken, email);
    const accessToken = this.remember(signedAccessToken(email, this.accessTokenLifetimeMs));
    return { accessToken, refreshToken, expiresAt: new Date(Date.now() + this.accessTokenLifetimeMs).toISOString() };
  }

  /** The user revoked the application (or changed the password): the refresh token stops working. */
  revoke(refreshToken: string): void {
    this.revoked.add(refreshToken);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private remember(secret: string): string {
    this.issued.push(secret);
    return secret;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    if (request.method === 'GET' && url.pathname === '/authorize') return this.authorize(url, response);
    if (request.method === 'GET' && url.pathname === '/userinfo') return this.userinfo(request, response);
    if (request.method === 'POST' && url.pathname === '/token') {
      const form = new URLSearchParams(await readBody(request));
      if (this.tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.tokenDelayMs));
      return this.token(form, response);
    }
    json(response, 404, { error: 'not_found' });
  }

  private authorize(url: URL, response: ServerResponse): void {
    const redirectUri = url.searchParams.get('redirect_uri') ?? '';
    const state = url.searchParams.get('state') ?? '';
    const challenge = url.searchParams.get('code_challenge') ?? '';
    const valid =
      url.searchParams.get('response_type') === 'code' &&
      url.searchParams.get('client_id') === this.clientId &&
      url.searchParams.get('code_challenge_method') === 'S256' &&
      challenge !== '' &&
      redirectUri !== '' &&
      this.consentingUser !== null;
    if (!valid) return json(response, 400, { error: 'invalid_request' });
    const code = `code-${randomBytes(12).toString('hex')}`;
    this.codes.set(code, { email: this.consentingUser ?? '', clientId: this.clientId, redirectUri, challenge });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    target.searchParams.set('state', state);
    response.writeHead(302, { location: target.toString() }).end();
  }

  private userinfo(request: IncomingMessage, response: ServerResponse): void {
    const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    const payload = token.split('.')[1];
    if (!payload) return json(response, 401, { error: 'invalid_token' });
    const { sub } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub: string };
    json(response, 200, { email: sub });
  }

  private token(form: URLSearchParams, response: ServerResponse): void {
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
      return json(response, 401, { error: 'invalid_client' });
    if (form.get('grant_type') === 'refresh_token') {
      this.refreshHits += 1;
      const refreshToken = form.get('refresh_token') ?? '';
      const email = this.refreshTokens.get(refreshToken);
      if (!email || this.revoked.has(refreshToken))
        return json(response, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      const accessToken = this.remember(signedAccessToken(email, this.accessTokenLifetimeMs));
      return json(response, 200, {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.accessTokenLifetimeMs / 1000,
      });
    }
    if (form.get('grant_type') === 'authorization_code') {
      this.codeHits += 1;
      const code = form.get('code') ?? '';
      const pending = this.codes.get(code);
      this.codes.delete(code);
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!pending || pending.redirectUri !== form.get('redirect_uri') || pending.challenge !== challenge)
        return json(response, 400, { error: 'invalid_grant', error_description: 'bad code or verifier' });
      const tokens = this.issue(pending.email);
      return json(response, 200, {
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken,
        token_type: 'Bearer',
        expires_in: this.accessTokenLifetimeMs / 1000,
        id_token: unsignedIdToken(pending.email),
      });
    }
    json(response, 400, { error: 'unsupported_grant_type' });
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
