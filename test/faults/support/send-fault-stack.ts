import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';

import { addMailUsers, readMailStack } from '../../infra/mail-stack.js';
import type { MailStack } from '../../infra/mail-stack.js';
import { ApiProcess } from '../../support/api-process.js';
import { bearerFor } from '../../support/auth.js';
import { BackgroundAppProcess } from '../../support/background-app-process.js';
import { mailboxMessages } from '../../support/mailbox.js';
import { PrivateDatabase } from '../../support/private-database.js';
import { PrivateRedis } from '../../support/private-redis.js';
import { startWorkerProcess } from '../../support/worker-process.js';

export const MAIL_PASSWORD = 'fault password';

/**
 * Everything one fault case runs against, of its own: a database (the scheduler acts on every
 * tenant in it), a Redis for queues, leases and rate limits that it may flush, kill and restart, a
 * sender and a recipient on the run's mail servers, and the built API; worker and scheduler are
 * started and stopped by the case.
 */
export class SendFaultStack {
  readonly tenant = `fault-${randomUUID().slice(0, 8)}`;
  readonly auth = { authorization: bearerFor(this.tenant) };
  readonly workerOutput: string[] = [];
  /** The sender's account, created through the API once the API runs. */
  accountId = '';

  private constructor(
    readonly mail: MailStack,
    readonly database: PrivateDatabase,
    readonly redis: PrivateRedis,
    readonly sender: string,
    readonly recipient: string,
    readonly env: Record<string, string>,
    readonly api: ApiProcess,
  ) {}

  static async start(label: string, env: Record<string, string> = {}): Promise<SendFaultStack> {
    const mail = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    const [database, redis] = await Promise.all([PrivateDatabase.create(label), PrivateRedis.start()]);
    const sender = `${label}-sender-${randomUUID().slice(0, 8)}@${mail.domain}`;
    const recipient = `${label}-recipient-${randomUUID().slice(0, 8)}@${mail.domain}`;
    await addMailUsers(mail, [
      { email: sender, password: MAIL_PASSWORD },
      { email: recipient, password: MAIL_PASSWORD },
    ]);
    // One Redis for queues, leases and rate limits, as most deployments run it: a flush loses them all.
    const fullEnv = {
      DATABASE_URL: database.url,
      DATABASE_MIGRATION_URL: database.migrationUrl,
      REDIS_URL: redis.url,
      QUEUE_REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `fault-${label}`,
      ...env,
    };
    const api = await ApiProcess.start(fullEnv);
    const stack = new SendFaultStack(mail, database, redis, sender, recipient, fullEnv, api);
    const created = await api.inject({
      method: 'POST',
      url: '/api/accounts',
      headers: stack.auth,
      payload: {
        email: sender,
        password: MAIL_PASSWORD,
        imap: { host: mail.host, port: mail.imapPort, security: 'none' },
        smtp: { host: mail.host, port: mail.smtpPort, security: 'none' },
      },
    });
    if (created.statusCode !== 201) throw new Error(`account not created: ${created.statusCode} ${created.body}`);
    stack.accountId = created.json<{ id: string }>().id;
    return stack;
  }

  /** The built worker, as a child process the case may SIGKILL. */
  startWorker(env: Record<string, string> = {}): ChildProcess {
    return startWorkerProcess({ ...this.env, ...env }, this.workerOutput);
  }

  async startScheduler(env: Record<string, string> = {}): Promise<BackgroundAppProcess> {
    return BackgroundAppProcess.start('scheduler', { ...this.env, ...env });
  }

  /** Sends through the API, `parallel` requests at a time; answers each 202 record in order. */
  async compose(count: number, subject: string, parallel = 10): Promise<{ id: string; messageId: string }[]> {
    const records: { id: string; messageId: string }[] = [];
    for (let start = 0; start < count; start += parallel) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(parallel, count - start) }, async (_, offset) => {
          const response = await this.api.inject({
            method: 'POST',
            url: '/api/compose',
            headers: this.auth,
            payload: {
              accountId: this.accountId,
              to: [this.recipient],
              subject: `${subject} ${start + offset}`,
              text: 'fault case',
            },
          });
          if (response.statusCode !== 202)
            throw new Error(`send not accepted: ${response.statusCode} ${response.body}`);
          return response.json<{ id: string; messageId: string }>();
        }),
      );
      records.push(...batch);
    }
    return records;
  }

  async sentCount(): Promise<number> {
    const [row] = await this.database.query<{ count: string }>(
      `SELECT count(*) FROM send_records WHERE tenant_id = $1 AND state = 'sent'`,
      [this.tenant],
    );
    return Number(row?.count ?? 0);
  }

  /** Message-ID → copies in the recipient's INBOX. */
  async delivered(): Promise<Map<string, number>> {
    const copies = new Map<string, number>();
    for (const { messageId } of await mailboxMessages(this.mail.imapPort, this.recipient, MAIL_PASSWORD, 'INBOX')) {
      copies.set(messageId ?? '', (copies.get(messageId ?? '') ?? 0) + 1);
    }
    return copies;
  }

  async stop(): Promise<void> {
    await this.api.stop();
    await this.redis.stop();
    await this.database.drop();
  }
}
