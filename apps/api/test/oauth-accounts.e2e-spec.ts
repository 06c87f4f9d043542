import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { addMailUsers, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import { mailboxMessages } from '../../../test/support/mailbox.js';
import { ownerQuery } from '../../../test/support/messages-fixture.js';
import { LocalOAuthServer } from '../../../test/support/oauth-server.js';
import { eventually } from '../../../test/support/test-config.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';

const PASSWORD = 'oauth user password';
const PROVIDER = 'local';
const PUBLIC_API_URL = 'https://mail-api.example.test';
const COMPLETION_URL = 'https://app.example.test/accounts/connected';
/** Queues of this file's own, so its worker takes no job of another test file running beside it. */
const QUEUES = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:oauth-accounts` };

interface AccountBody {
  id: string;
  auth: { type: string; provider: string | null; expiresAt: string | null; state: string; reason: string | null };
}

interface SendRecordBody {
  id: string;
  state: string;
  messageId: string;
  lastResponse: string | null;
}

/**
 * Accounts that log in with OAuth2 tokens against the stack's Dovecot (oauth2 passdb, XOAUTH2 and
 * OAUTHBEARER on IMAP, and through Dovecot SASL on Postfix submission), with a local
 * authorisation server issuing the tokens: login test, sync, send, refresh before expiry and
 * after a refusal, one refresh for many jobs at once, and a revoked grant.
 */
describe('OAuth2 accounts', () => {
  const tenant = `oauth-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  const output: string[] = [];
  let stack: MailStack;
  let oauth: LocalOAuthServer;
  let api: ApiProcess;
  let worker: ChildProcess | null = null;
  let fixtures: string;
  let sender: string;
  let recipient: string;
  let senderAccountId: string;

  const appEnvironment = (): Record<string, string> => ({
    ...QUEUES,
    OAUTH_PROVIDERS: JSON.stringify([oauth.provider(PROVIDER, stack)]),
    OAUTH_REFRESH_SKEW_SECONDS: '1',
    SEND_CONCURRENCY: '20',
    // The name the provider sends browsers back to; the test, playing the browser, delivers the
    // callback to the API process itself.
    OAUTH_REDIRECT_BASE_URL: PUBLIC_API_URL,
    OAUTH_COMPLETION_URL: COMPLETION_URL,
    LOG_LEVEL: 'DEBUG',
  });

  const startWorker = (): ChildProcess => startWorkerProcess(appEnvironment(), output);

  const createAccount = async (email: string, tokens: object): Promise<AccountBody> => {
    const response = await api.inject({
      method: 'POST',
      url: '/api/accounts',
      headers: auth,
      payload: { email, provider: PROVIDER, auth: { type: 'oauth2', provider: PROVIDER, ...tokens } },
    });
    if (response.statusCode !== 201) throw new Error(`account not created: ${response.statusCode} ${response.body}`);
    return response.json<AccountBody>();
  };

  interface SyncStatus {
    lastRun: { id: string; state: string; error: string | null };
    messageCount: number;
    folders: { path: string; total: number; synced: number }[];
  }

  const syncAndWait = async (accountId: string): Promise<SyncStatus> => {
    const requested = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
    expect(requested.statusCode).toBe(202);
    const runId = requested.json<{ syncRunId: string }>().syncRunId;
    return eventually(
      async () => {
        const status = (await api.inject({ url: `/api/sync/status/${accountId}`, headers: auth })).json<SyncStatus>();
        expect(status.lastRun.id).toBe(runId);
        expect(['succeeded', 'failed']).toContain(status.lastRun.state);
        return status;
      },
      90_000,
      300,
    );
  };

  const compose = async (accountId: string, subject: string): Promise<string> => {
    const response = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: auth,
      payload: { accountId, to: [{ address: recipient }], subject, text: `body of ${subject}` },
    });
    if (response.statusCode !== 202) throw new Error(`compose refused: ${response.statusCode} ${response.body}`);
    return response.json<{ id: string }>().id;
  };

  const sendRecord = async (id: string): Promise<SendRecordBody> =>
    (await api.inject({ url: `/api/compose/outbox/${id}`, headers: auth })).json<SendRecordBody>();

  /** The refresh token each account holds at the provider. */
  const refreshTokens = new Map<string, string>();

  /**
   * Stores an access token the server no longer takes, with `storedExpiry` as the expiry the
   * service believes (in the past: its hour has passed; ahead: the server refuses it early).
   */
  const storeRefusedToken = async (accountId: string, storedExpiry: Date): Promise<void> => {
    oauth.accessTokenLifetimeMs = 1;
    const { accessToken } = oauth.issue(sender);
    oauth.accessTokenLifetimeMs = 3_600_000;
    const updated = await api.inject({
      method: 'PUT',
      url: `/api/accounts/${accountId}?verify=false`,
      headers: auth,
      payload: {
        auth: {
          type: 'oauth2',
          provider: PROVIDER,
          accessToken,
          refreshToken: refreshTokens.get(accountId) ?? '',
          expiresAt: storedExpiry.toISOString(),
        },
      },
    });
    expect(updated.statusCode).toBe(200);
  };

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    sender = `oauth-sender-${randomUUID().slice(0, 8)}@${stack.domain}`;
    recipient = `oauth-recipient-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUsers(stack, [
      { email: sender, password: PASSWORD },
      { email: recipient, password: PASSWORD },
    ]);
    fixtures = mkdtempSync(join(tmpdir(), 'oauth-accounts-'));
    await seedMailbox(
      stack,
      sender,
      'INBOX',
      writeCorpus(
        fixtures,
        generateCorpus({ count: 8, domain: stack.domain, tag: 'oauth', maxAttachmentBytes: 5_000 }),
      ),
    );
    oauth = await LocalOAuthServer.start();
    api = await ApiProcess.start(appEnvironment());
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopProcess(worker);
    await api?.stop();
    await oauth?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it('refuses an access token the server does not take with 422, storing nothing', async () => {
    const issued = oauth.issue(sender);
    const response = await api.inject({
      method: 'POST',
      url: '/api/accounts',
      headers: auth,
      payload: {
        email: sender,
        provider: PROVIDER,
        auth: { type: 'oauth2', provider: PROVIDER, accessToken: `${issued.accessToken}x`, refreshToken: 'rt' },
      },
    });

    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'mail_login_rejected' });
    expect(response.json<{ message: string }>().message).toMatch(
      /^IMAP login failed: .*(AUTHENTICATIONFAILED|Authentication failed)/,
    );
    expect(response.body).not.toContain(issued.accessToken);
    expect((await api.inject({ url: '/api/accounts', headers: auth })).json()).toEqual({ items: [], nextCursor: null });
  });

  it('creates an account after IMAP and SMTP logins with the token, never returning or storing it in clear', async () => {
    const issued = oauth.issue(sender);
    const account = await createAccount(sender, issued);
    senderAccountId = account.id;
    refreshTokens.set(account.id, issued.refreshToken);

    expect(account).toMatchObject({
      imap: { host: stack.host, port: stack.imapPort, security: 'none', username: sender },
      smtp: { host: stack.host, port: stack.smtpPort, security: 'none', username: sender },
      auth: { type: 'oauth2', provider: PROVIDER, expiresAt: issued.expiresAt, state: 'valid', reason: null },
    });
    const body = JSON.stringify(account);
    expect(body).not.toContain(issued.accessToken);
    expect(body).not.toContain(issued.refreshToken);
    const [stored] = await ownerQuery<Record<string, string | null>>(
      'SELECT encrypted_password, encrypted_access_token, encrypted_refresh_token FROM mail_accounts WHERE id = $1',
      [account.id],
    );
    expect(stored?.encrypted_password).toBeNull();
    expect(stored?.encrypted_access_token).toMatch(/^v1:/);
    expect(stored?.encrypted_refresh_token).toMatch(/^v1:/);
    expect(JSON.stringify(stored)).not.toContain(issued.refreshToken);
    expect(oauth.refreshRequests).toBe(0);
    // Dovecot authenticated both logins through the oauth2 passdb.
    await eventually(async () => {
      const { readFile } = await import('node:fs/promises');
      const log = await readFile(join(stack.stateDir, 'logs', 'dovecot-a.log'), 'utf8');
      expect(log).toMatch(new RegExp(`imap-login: Info: Login: user=<${sender}>, method=OAUTHBEARER`));
    });
  });

  it('syncs the mailbox and sends through SMTP with the token: the recipient gets it, Sent has one copy', async () => {
    const accountId = senderAccountId;
    worker = startWorker();

    const status = await syncAndWait(accountId);
    expect(status.lastRun.state).toBe('succeeded');
    expect(status.messageCount).toBe(8);

    const sendId = await compose(accountId, 'Sent with a bearer token');
    const record = await eventually(async () => {
      const current = await sendRecord(sendId);
      if (current.state !== 'sent') throw new Error(`send is ${current.state}: ${current.lastResponse ?? ''}`);
      return current;
    }, 30_000);
    await eventually(async () => {
      const delivered = await mailboxMessages(stack.imapPort, recipient, PASSWORD, 'INBOX');
      expect(delivered.filter((message) => message.messageId === record.messageId)).toHaveLength(1);
      const sent = await mailboxMessages(stack.imapPort, sender, PASSWORD, 'Sent');
      expect(sent.filter((message) => message.messageId === record.messageId)).toHaveLength(1);
    });
    const postfixLog = await (
      await import('node:fs/promises')
    ).readFile(join(stack.stateDir, 'logs', 'postfix.log'), 'utf8');
    expect(postfixLog).toMatch(new RegExp(`sasl_method=(OAUTHBEARER|XOAUTH2), sasl_username=${sender}`));
  }, 120_000);

  it('refreshes an expired token once for 20 sends at once, and every send goes out', async () => {
    const accountId = senderAccountId;
    await storeRefusedToken(accountId, new Date(Date.now() - 1000));
    const before = oauth.refreshRequests;
    oauth.tokenDelayMs = 300;
    try {
      const ids = await Promise.all(Array.from({ length: 20 }, (_, n) => compose(accountId, `Concurrent ${n}`)));
      const records = await eventually(async () => {
        const current = await Promise.all(ids.map(sendRecord));
        const pending = current.filter((record) => record.state !== 'sent');
        if (pending.length > 0) throw new Error(`${pending.length} not sent: ${pending[0]?.lastResponse ?? ''}`);
        return current;
      }, 60_000);
      expect(records).toHaveLength(20);
    } finally {
      oauth.tokenDelayMs = 0;
    }
    expect(oauth.refreshRequests - before).toBe(1);
  }, 90_000);

  it('refreshes an expired token once for 20 requests at once that each open their own IMAP connection', async () => {
    const accountId = senderAccountId;
    const folders = (await api.inject({ url: `/api/accounts/${accountId}/folders`, headers: auth })).json<{
      items: { id: string; path: string }[];
    }>().items;
    const inbox = folders.find((folder) => folder.path === 'INBOX')?.id ?? '';
    await storeRefusedToken(accountId, new Date(Date.now() - 1000));
    const before = oauth.refreshRequests;
    oauth.tokenDelayMs = 300;
    try {
      // Folder exports run in the API process, each on its own: no batching shares a token between them.
      const exports = await Promise.all(
        Array.from({ length: 20 }, () =>
          api.inject({ url: `/api/accounts/${accountId}/folders/${inbox}/export`, headers: auth }),
        ),
      );
      expect(exports.map((response) => response.statusCode)).toEqual(Array.from({ length: 20 }, () => 200));
      expect(exports.every((response) => (response.body.match(/^From /gm) ?? []).length === 8)).toBe(true);
    } finally {
      oauth.tokenDelayMs = 0;
    }
    expect(oauth.refreshRequests - before).toBe(1);
  }, 90_000);

  it('refreshes again and retries once when the server refuses a token it has not seen expire', async () => {
    const accountId = senderAccountId;
    // The stored expiry says an hour, but the server stops taking the token after 1 ms.
    await storeRefusedToken(accountId, new Date(Date.now() + 3_600_000));
    const before = oauth.refreshRequests;

    const status = await syncAndWait(accountId);

    expect(status.lastRun.state).toBe('succeeded');
    expect(oauth.refreshRequests - before).toBe(1);
  }, 120_000);

  it('keeps syncing with 5-second tokens across refreshes without losing a message', async () => {
    const accountId = senderAccountId;
    oauth.accessTokenLifetimeMs = 5_000;
    try {
      const issued = oauth.issue(sender);
      refreshTokens.set(accountId, issued.refreshToken);
      const updated = await api.inject({
        method: 'PUT',
        url: `/api/accounts/${accountId}?verify=false`,
        headers: auth,
        payload: { auth: { type: 'oauth2', provider: PROVIDER, ...issued } },
      });
      expect(updated.statusCode).toBe(200);
      const before = oauth.refreshRequests;
      const rounds = 4;
      for (let round = 0; round < rounds; round += 1) {
        await seedMailbox(
          stack,
          sender,
          'Archive',
          writeCorpus(
            mkdtempSync(join(fixtures, `round-${round}-`)),
            generateCorpus({ count: 50, domain: stack.domain, tag: `long-${round}`, maxAttachmentBytes: 2_000 }),
          ),
        );
        // Each round starts after the previous token expired: every connection needs a fresh one.
        await new Promise((resolve) => setTimeout(resolve, 5_500));
        const status = await syncAndWait(accountId);
        expect(status.lastRun.state).toBe('succeeded');
        expect(status.folders.find((folder) => folder.path === 'Archive')).toMatchObject({
          total: (round + 1) * 50,
          synced: (round + 1) * 50,
        });
      }
      expect(oauth.refreshRequests - before).toBeGreaterThanOrEqual(rounds);
    } finally {
      oauth.accessTokenLifetimeMs = 3_600_000;
    }
  }, 180_000);

  it('marks a revoked grant reauth_required, stops without a retry storm, and resumes with new tokens', async () => {
    const accountId = senderAccountId;
    oauth.revoke(refreshTokens.get(accountId) ?? '');
    await storeRefusedToken(accountId, new Date(Date.now() - 1000));
    const before = oauth.refreshRequests;

    const failed = await syncAndWait(accountId);
    expect(failed.lastRun.state).toBe('failed');
    const account = (await api.inject({ url: `/api/accounts/${accountId}`, headers: auth })).json<AccountBody>();
    expect(account.auth).toMatchObject({
      state: 'reauth_required',
      reason: expect.stringMatching(/^invalid_grant/) as unknown,
    });
    const [logged] = await ownerQuery<{ count: string }>(
      `SELECT count(*) FROM change_log WHERE account_id = $1 AND type = 'account' AND op = 'reauth_required'`,
      [accountId],
    );
    expect(logged?.count).toBe('1');

    // A minute of syncs and sends asked for: none reaches the token endpoint, none is sent.
    const sends: string[] = [];
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
      sends.push(await compose(accountId, 'While reauth is required'));
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
    expect(oauth.refreshRequests - before).toBe(1);
    await eventually(async () => {
      const records = await Promise.all(sends.map(sendRecord));
      expect(records.every((record) => record.state === 'failed')).toBe(true);
      expect(records[0]?.lastResponse).toMatch(/authorised again/);
    });

    const issued = oauth.issue(sender);
    refreshTokens.set(accountId, issued.refreshToken);
    const resumed = await api.inject({
      method: 'PUT',
      url: `/api/accounts/${accountId}`,
      headers: auth,
      payload: { auth: { type: 'oauth2', provider: PROVIDER, ...issued } },
    });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json<AccountBody>().auth).toMatchObject({ state: 'valid', reason: null });
    expect((await syncAndWait(accountId)).lastRun.state).toBe('succeeded');
  }, 180_000);

  it('runs the authorisation flow: start, consent, callback, account created, synced and sending', async () => {
    const user = `oauth-flow-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUsers(stack, [{ email: user, password: PASSWORD }]);
    const started = await api.inject({
      method: 'POST',
      url: `/api/oauth/${PROVIDER}/start`,
      headers: auth,
      payload: { loginHint: user },
    });
    expect(started.statusCode).toBe(200);
    const authorizeUrl = new URL(started.json<{ authorizeUrl: string }>().authorizeUrl);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${oauth.url}/authorize`);
    expect(Object.fromEntries(authorizeUrl.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: oauth.clientId,
      redirect_uri: `${PUBLIC_API_URL}/api/oauth/${PROVIDER}/callback`,
      code_challenge_method: 'S256',
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
      login_hint: user,
      scope: 'mail email',
    });

    // The browser: the user consents at the provider, which sends it back to the redirect URI.
    oauth.consentingUser = user;
    const consent = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location') ?? '');
    expect(back.origin).toBe(PUBLIC_API_URL);
    const callbackPath = `${back.pathname}${back.search}`;
    const tampered = new URL(back);
    const state = tampered.searchParams.get('state') ?? '';
    tampered.searchParams.set('state', `${state.slice(0, -2)}${state.endsWith('AA') ? 'BB' : 'AA'}`);
    const forged = await api.inject({ url: `${tampered.pathname}${tampered.search}`, manualRedirect: true });
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: 'oauth_state_invalid' });

    const callback = await api.inject({ url: callbackPath, manualRedirect: true });
    expect(callback.statusCode).toBe(302);
    const completion = new URL(callback.headers.location ?? '');
    expect(`${completion.origin}${completion.pathname}`).toBe(COMPLETION_URL);
    expect(completion.searchParams.get('status')).toBe('connected');
    const accountId = completion.searchParams.get('accountId') ?? '';

    const replayed = await api.inject({ url: callbackPath, manualRedirect: true });
    expect(replayed.statusCode).toBe(400);
    expect(replayed.json()).toMatchObject({ code: 'oauth_state_invalid' });
    expect(oauth.codeRequests).toBe(1);

    const account = (await api.inject({ url: `/api/accounts/${accountId}`, headers: auth })).json<
      AccountBody & { email: string }
    >();
    expect(account).toMatchObject({
      email: user,
      auth: { type: 'oauth2', provider: PROVIDER, state: 'valid' },
      imap: { host: stack.host, port: stack.imapPort, security: 'none' },
      smtp: { host: stack.host, port: stack.smtpPort, security: 'none' },
    });

    expect((await syncAndWait(accountId)).lastRun.state).toBe('succeeded');
    const sent = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: auth,
      payload: { accountId, to: [{ address: recipient }], subject: 'From the authorised account', text: 'hello' },
    });
    expect(sent.statusCode).toBe(202);
    const record = await eventually(async () => {
      const current = await sendRecord(sent.json<{ id: string }>().id);
      if (current.state !== 'sent') throw new Error(`send is ${current.state}: ${current.lastResponse ?? ''}`);
      return current;
    }, 30_000);
    await eventually(async () => {
      const delivered = await mailboxMessages(stack.imapPort, recipient, PASSWORD, 'INBOX');
      expect(delivered.filter((message) => message.messageId === record.messageId)).toHaveLength(1);
      const sentFolder = await mailboxMessages(stack.imapPort, user, PASSWORD, 'Sent');
      expect(sentFolder.filter((message) => message.messageId === record.messageId)).toHaveLength(1);
    });
  }, 120_000);

  it('sends the browser to the completion URL with the error when the user declines', async () => {
    const started = await api.inject({
      method: 'POST',
      url: `/api/oauth/${PROVIDER}/start`,
      headers: auth,
      payload: {},
    });
    const state = new URL(started.json<{ authorizeUrl: string }>().authorizeUrl).searchParams.get('state') ?? '';

    const declined = await api.inject({
      url: `/api/oauth/${PROVIDER}/callback?state=${encodeURIComponent(state)}&error=access_denied`,
      manualRedirect: true,
    });

    expect(declined.statusCode).toBe(302);
    const completion = new URL(declined.headers.location ?? '');
    expect(Object.fromEntries(completion.searchParams)).toEqual({
      status: 'failed',
      error: 'oauth_authorization_failed',
    });
  });

  it('lists the provider presets and the configured provider, without client secrets', async () => {
    const response = await api.inject({ url: '/api/providers', headers: auth });

    expect(response.statusCode).toBe(200);
    const items = response.json<{ items: { id: string; auth: string; authorizationFlow: boolean }[] }>().items;
    expect(items.map((item) => item.id)).toEqual(['google', 'microsoft', 'icloud', 'yahoo', 'fastmail', PROVIDER]);
    expect(items.find((item) => item.id === PROVIDER)).toMatchObject({ auth: 'oauth2', authorizationFlow: true });
    expect(items.find((item) => item.id === 'google')).toMatchObject({
      auth: 'oauth2',
      authorizationFlow: false,
      imap: { host: 'imap.gmail.com', port: 993, security: 'tls' },
      filesSentCopy: true,
      allMailFolders: ['[Gmail]/All Mail', '[Google Mail]/All Mail'],
    });
    expect(response.body).not.toContain(oauth.clientSecret);
  });

  it('fills host, port and security from a provider preset', async () => {
    const response = await api.inject({
      method: 'POST',
      url: '/api/accounts?verify=false',
      headers: auth,
      payload: {
        email: `preset-${randomUUID().slice(0, 8)}@fastmail.test`,
        password: 'app password',
        provider: 'fastmail',
      },
    });

    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      imap: { host: 'imap.fastmail.com', port: 993, security: 'tls' },
      smtp: { host: 'smtp.fastmail.com', port: 465, security: 'tls' },
      auth: { type: 'password', provider: null },
    });
    const unknown = await api.inject({
      method: 'POST',
      url: '/api/accounts?verify=false',
      headers: auth,
      payload: { email: 'someone@example.test', password: 'x', provider: 'nowhere' },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'account_auth_invalid' });
  });

  it('never writes a token to the logs of the API or the worker', () => {
    const logs = `${api.logs}\n${output.join('')}`;
    expect(logs.length).toBeGreaterThan(0);
    expect(oauth.issued.length).toBeGreaterThan(10);
    const leaked = oauth.issued.filter((secret) => logs.includes(secret));
    expect(leaked).toEqual([]);
  });
});
