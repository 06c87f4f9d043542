import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

import type { MailAccount } from '@app/database';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { eventually } from '../../../test/support/test-config.js';
import { mailboxMessages } from '../../../test/support/mailbox.js';
import { SendHarness } from '../../../test/support/send-harness.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';

const TENANT = `send-crash-${process.pid}`;
const PASSWORD = 'crash-secret';
/** A short job lock, so the restarted worker takes the killed one's job over within seconds. */
const WORKER_ENV = { IMAP_TIMEOUT: '120', JOB_LOCK_DURATION: '2', JOB_STALLED_INTERVAL: '1' };

/**
 * An IMAP endpoint the test controls: `hold` accepts connections and never answers (a server
 * that hangs), `forward` relays to the real Dovecot.
 */
class HoldingProxy {
  mode: 'hold' | 'forward' = 'hold';
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.mode === 'hold') return;
      const upstream = connect(this.targetPort, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * The built worker (`npm run build`) as a child process, killed with SIGKILL after the SMTP server
 * accepted a message and before the Sent copy was filed; the crash point is made deterministic by
 * an IMAP server that never answers. The restarted worker recovers the stalled job once the dead
 * worker's lock expires and must not send the message again.
 */
describe('send-email after a worker crash (SIGKILL)', () => {
  let stack: MailStack;
  let harness: SendHarness;
  let proxy: HoldingProxy;
  let account: MailAccount;
  const output: string[] = [];
  let worker: ChildProcess | null = null;
  const sender = `crash-sender-${process.pid}@example.test`;
  const recipient = `crash-recipient-${process.pid}@example.test`;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    await addMailUsers(stack, [
      { email: sender, password: PASSWORD },
      { email: recipient, password: PASSWORD },
    ]);
    proxy = await new HoldingProxy(stack.imapPort).start();
    harness = await SendHarness.start({ consume: false });
    account = await harness.createAccount(TENANT, sender, PASSWORD, { imapPort: proxy.port, smtpPort: stack.smtpPort });
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopProcess(worker, 'SIGKILL');
    await harness?.close();
    await proxy?.stop();
  });

  it('delivers exactly one message and files exactly one Sent copy', async () => {
    worker = startWorkerProcess({ REDIS_KEY_PREFIX: harness.redisKeyPrefix, ...WORKER_ENV }, output);
    const record = await harness.queueSend(TENANT, account, {
      to: [{ name: '', address: recipient }],
      subject: 'survives a crash',
      text: 'once',
    });

    await eventually(async () => {
      const current = await harness.record(TENANT, record.id);
      if (!current.smtpAcceptedAt)
        throw new Error(`not accepted yet (${current.state}); worker output:\n${output.join('')}`);
      expect(current.sentCopyAppendedAt).toBeNull();
    }, 30_000);
    await stopProcess(worker, 'SIGKILL');
    worker = null;

    proxy.mode = 'forward';
    worker = startWorkerProcess({ REDIS_KEY_PREFIX: harness.redisKeyPrefix, ...WORKER_ENV }, output);
    const settled = await harness.settled(TENANT, record.id, 120_000);
    expect(settled).toMatchObject({ state: 'sent', attempts: 1 });

    await eventually(async () =>
      expect(
        (await mailboxMessages(stack.imapPort, recipient, PASSWORD, 'INBOX')).filter(
          (message) => message.messageId === record.messageId,
        ),
      ).toHaveLength(1),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(
      (await mailboxMessages(stack.imapPort, recipient, PASSWORD, 'INBOX')).filter(
        (message) => message.messageId === record.messageId,
      ),
    ).toHaveLength(1);
    expect(
      (await mailboxMessages(stack.imapPort, sender, PASSWORD, 'Sent')).filter(
        (message) => message.messageId === record.messageId,
      ),
    ).toHaveLength(1);
  }, 180_000);
});
