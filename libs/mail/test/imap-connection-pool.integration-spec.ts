import { randomUUID } from 'node:crypto';

import type { ImapFlow } from 'imapflow';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { TcpProxy } from '../../../test/support/tcp-proxy.js';
import { testConfig } from '../../../test/support/test-config.js';
import { OutboundPolicy } from '../src/egress/outbound-policy.js';
import { ImapPoolExhaustedError, ImapTimeoutError, MailServerLoginError } from '../src/errors.js';
import { ImapConnectionPool } from '../src/imap/imap-connection-pool.js';
import type { ImapPoolOptions } from '../src/imap/imap-connection-pool.js';
import type { PasswordServerSettings } from '../src/mail-server-settings.js';

const busy = (client: ImapFlow): boolean => (client as unknown as { connectionBusy(): boolean }).connectionBusy();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ImapConnectionPool against Dovecot', () => {
  let stack: MailStack;
  const password = 'pool password';
  const users = [`pool-a-${randomUUID().slice(0, 8)}`, `pool-b-${randomUUID().slice(0, 8)}`];
  let pools: ImapConnectionPool[] = [];

  const settingsFor = (user: string, port = stack.imapPort): PasswordServerSettings => ({
    host: stack.host,
    port,
    security: 'none',
    username: `${user}@${stack.domain}`,
    password,
    allowSelfSignedCertificates: false,
  });
  const poolWith = (options: Partial<ImapPoolOptions> = {}): ImapConnectionPool => {
    const policy = new OutboundPolicy(testConfig().outbound);
    const sut = new ImapConnectionPool({
      size: 2,
      timeoutMs: 5_000,
      idleTimeoutMs: 60_000,
      checkAfterMs: 60_000,
      policy,
      ...options,
    });
    pools.push(sut);
    return sut;
  };

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    await addMailUsers(
      stack,
      users.map((user) => ({ email: `${user}@${stack.domain}`, password })),
    );
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    pools = [];
  });

  it('reuses the idle logged-in connection of the same account', async () => {
    const sut = poolWith();
    const first = await sut.withConnection(settingsFor(users[0] ?? ''), (client) => Promise.resolve(client));
    const second = await sut.withConnection(settingsFor(users[0] ?? ''), async (client) => {
      await client.noop();
      return client;
    });

    expect(second).toBe(first);
    expect(sut.stats).toEqual({ open: 1, idle: 1, waiting: 0 });
  });

  it('never has more connections open than its size; callers beyond it wait their turn', async () => {
    const sut = poolWith({ size: 2 });
    let active = 0;
    let peak = 0;
    const clients = new Set<ImapFlow>();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        sut.withConnection(settingsFor(users[0] ?? ''), async (client) => {
          active += 1;
          peak = Math.max(peak, active);
          clients.add(client);
          const lock = await client.getMailboxLock('INBOX');
          lock.release();
          await sleep(150);
          active -= 1;
          return index;
        }),
      ),
    );

    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(clients.size).toBe(2);
    expect(sut.stats.open).toBe(2);
  });

  it('makes room for another account by logging out an idle connection', async () => {
    const sut = poolWith({ size: 1 });
    const a = await sut.withConnection(settingsFor(users[0] ?? ''), (client) => Promise.resolve(client));
    const b = await sut.withConnection(settingsFor(users[1] ?? ''), async (client) => {
      await client.noop();
      return client;
    });

    expect(b).not.toBe(a);
    expect(a.usable).toBe(false);
    expect(sut.stats).toEqual({ open: 1, idle: 1, waiting: 0 });
  });

  it('fails a caller that waited longer than the timeout with a clear error', async () => {
    const sut = poolWith({ size: 1, timeoutMs: 400 });
    const holding = sut.withConnection(settingsFor(users[0] ?? ''), () => sleep(1_500), 5_000);
    await sleep(200);
    const startedAt = Date.now();

    await expect(sut.withConnection(settingsFor(users[1] ?? ''), () => Promise.resolve('never'))).rejects.toThrow(
      ImapPoolExhaustedError,
    );
    expect(Date.now() - startedAt).toBeLessThan(1_200);
    await holding;
    expect(sut.stats.waiting).toBe(0);
  });

  it('closes a connection whose work overruns its deadline and frees the slot', async () => {
    const sut = poolWith({ size: 1 });
    let stuck: ImapFlow | undefined;

    await expect(
      sut.withConnection(
        settingsFor(users[0] ?? ''),
        async (client) => {
          stuck = client;
          await new Promise(() => undefined);
        },
        300,
      ),
    ).rejects.toThrow(ImapTimeoutError);
    const next = await sut.withConnection(settingsFor(users[0] ?? ''), (client) => Promise.resolve(client));

    expect(stuck?.usable).toBe(false);
    expect(next).not.toBe(stuck);
  });

  it('hands out no connection while a command of its previous user is still running', async () => {
    const sut = poolWith({ size: 1 });
    const lease = await sut.acquire(settingsFor(users[0] ?? ''));
    const pending = lease.client.status('INBOX', { messages: true });
    lease.release();
    const next = await sut.acquire(settingsFor(users[0] ?? ''));

    expect(busy(next.client)).toBe(false);
    await pending;
    next.release();
  });

  it('logs out a connection returned with its mailbox lock still held', async () => {
    const sut = poolWith({ size: 1, timeoutMs: 600 });
    const lease = await sut.acquire(settingsFor(users[0] ?? ''));
    await lease.client.getMailboxLock('INBOX');
    lease.release();
    const next = await sut.acquire(settingsFor(users[0] ?? ''));

    expect(next.client).not.toBe(lease.client);
    expect(busy(next.client)).toBe(false);
    next.release();
  });

  it('checks a long-idle connection before reuse and replaces it when the peer is gone', async () => {
    const proxy = await new TcpProxy(stack.host, stack.imapPort).start();
    try {
      const sut = poolWith({ size: 1, timeoutMs: 800, checkAfterMs: 0 });
      const first = await sut.withConnection(settingsFor(users[0] ?? '', proxy.port), (client) =>
        Promise.resolve(client),
      );
      proxy.freeze();
      const second = await sut.withConnection(settingsFor(users[0] ?? '', proxy.port), async (client) => {
        await client.noop();
        return client;
      });

      expect(second).not.toBe(first);
      expect(second.usable).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  it('drops idle connections after the idle timeout', async () => {
    const sut = poolWith({ idleTimeoutMs: 200 });
    const client = await sut.withConnection(settingsFor(users[0] ?? ''), (leased) => Promise.resolve(leased));
    await sleep(500);

    expect(sut.stats).toEqual({ open: 0, idle: 0, waiting: 0 });
    expect(client.usable).toBe(false);
  });

  it('reports a refused login and gives the slot back', async () => {
    const sut = poolWith({ size: 1 });

    await expect(
      sut.withConnection({ ...settingsFor(users[0] ?? ''), password: 'wrong' }, () => Promise.resolve('never')),
    ).rejects.toThrow(MailServerLoginError);
    expect(sut.stats.open).toBe(0);
    await expect(sut.withConnection(settingsFor(users[0] ?? ''), () => Promise.resolve('ok'))).resolves.toBe('ok');
  });
});
