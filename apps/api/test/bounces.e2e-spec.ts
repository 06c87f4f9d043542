import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { imapAs, mailboxMessages } from '../../../test/support/mailbox.js';
import { ownerQuery } from '../../../test/support/messages-fixture.js';
import { createStackAccount } from '../../../test/support/stack-account.js';
import { eventually } from '../../../test/support/test-config.js';
import { WebhookReceiver } from '../../../test/support/webhook-receiver.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';
import type { SendRecordDto } from '../src/modules/sends/dto/send-record.dto.js';

const PASSWORD = 'bounce-secret';

/**
 * A send to a user the mail stack does not have: Postfix accepts it at RCPT, Dovecot's LMTP
 * refuses it, and Postfix returns an RFC 3464 report to the sender's INBOX. Syncing that INBOX
 * turns the send `bounced`.
 */
describe('bounces of sent mail', () => {
  const tenant = `bounces-${randomUUID().slice(0, 8)}`;
  const otherTenant = `bounces-other-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  const otherAuth = { authorization: bearerFor(otherTenant) };
  const workerOutput: string[] = [];
  let stack: MailStack;
  let api: ApiProcess;
  let worker: ChildProcess;
  let receiver: WebhookReceiver;
  let sender: string;
  let friend: string;
  let otherSender: string;
  let accountId: string;
  let otherAccountId: string;

  const outbox = async (id: string, headers: Record<string, string> = auth): Promise<SendRecordDto> =>
    (await api.inject({ url: `/api/compose/outbox/${id}`, headers })).json<SendRecordDto>();

  const send = async (headers: Record<string, string>, account: string, to: string[]): Promise<SendRecordDto> => {
    const response = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers,
      payload: { accountId: account, to, subject: `bounce test ${randomUUID()}`, text: 'Hello there.' },
    });
    expect(response.statusCode).toBe(202);
    const queued = response.json<SendRecordDto>();
    return eventually(async () => {
      const record = await outbox(queued.id, headers);
      if (record.state !== 'sent')
        throw new Error(`send is ${record.state}: ${record.lastResponse ?? ''}\n${workerOutput.join('')}`);
      return record;
    }, 30_000);
  };

  /** Asks for syncs of the sender's account until `check` passes (a sync already running is not queued twice). */
  const syncUntil = async <T>(check: () => Promise<T>): Promise<T> =>
    eventually(
      async () => {
        const requested = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
        expect(requested.statusCode).toBe(202);
        return eventually(check, 3_000, 250);
      },
      60_000,
      0,
    );

  const reportRows = async (sendId: string): Promise<number> =>
    Number(
      (
        await ownerQuery<{ count: string }>('SELECT count(*) FROM send_delivery_reports WHERE send_record_id = $1', [
          sendId,
        ])
      )[0]?.count,
    );

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    const suffix = randomUUID().slice(0, 8);
    sender = `bounce-sender-${suffix}@${stack.domain}`;
    friend = `bounce-friend-${suffix}@${stack.domain}`;
    otherSender = `bounce-other-${suffix}@${stack.domain}`;
    await addMailUsers(stack, [
      { email: sender, password: PASSWORD },
      { email: friend, password: PASSWORD },
      { email: otherSender, password: PASSWORD },
    ]);
    const redisKeyPrefix = `${process.env.REDIS_KEY_PREFIX ?? 'test'}-bounces-${suffix}`;
    worker = startWorkerProcess(
      { REDIS_KEY_PREFIX: redisKeyPrefix, WATCH_ENABLED: 'false', WEBHOOK_SWEEP_SECONDS: '1' },
      workerOutput,
    );
    api = await ApiProcess.start({ REDIS_KEY_PREFIX: redisKeyPrefix });
    accountId = await createStackAccount(api, stack, auth, sender, PASSWORD);
    receiver = await WebhookReceiver.start();
    const webhook = await api.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: auth,
      payload: { url: receiver.url, events: ['send.bounced'] },
    });
    expect(webhook.statusCode).toBe(201);
    otherAccountId = await createStackAccount(api, stack, otherAuth, otherSender, PASSWORD);
  }, 90_000);

  afterAll(async () => {
    await api?.stop();
    if (worker) await stopProcess(worker);
    await receiver?.down();
  });

  let bouncedId: string;
  let unknown: string;

  it('turns a send bounced from the real Postfix report of an unknown recipient, naming the recipient, 5.1.1 and mailbox_unknown', async () => {
    unknown = `nobody-${randomUUID().slice(0, 8)}@${stack.domain}`;
    const sent = await send(auth, accountId, [friend, unknown]);
    bouncedId = sent.id;
    expect(sent).toMatchObject({ state: 'sent', bounces: [], delays: [] });

    // The report reaches the sender's INBOX through Postfix's bounce daemon and LMTP.
    const report = await eventually(async () => {
      const inbox = await mailboxMessages(stack.imapPort, sender, PASSWORD, 'INBOX');
      const found = inbox.find((message) => message.source.toString().includes(sent.messageId));
      if (!found) throw new Error('no report in the INBOX yet');
      return found;
    }, 30_000);
    expect(report.source.toString()).toMatch(/report-type=delivery-status/);

    const bounced = await syncUntil(async () => {
      const record = await outbox(sent.id);
      expect(record.state).toBe('bounced');
      return record;
    });

    expect(bounced.bounces).toEqual([
      {
        recipient: unknown,
        status: '5.1.1',
        diagnostic: expect.stringContaining('550 5.1.1') as unknown,
        category: 'mailbox_unknown',
        at: expect.any(String) as unknown,
      },
    ]);
    expect(bounced.delays).toEqual([]);
    const event = await eventually(() => {
      const [received] = receiver.accepted;
      if (!received) throw new Error('no webhook yet');
      return JSON.parse(received.body) as { type: string; data: Record<string, unknown> };
    }, 30_000);
    expect(event).toMatchObject({
      type: 'send.bounced',
      data: {
        id: sent.id,
        state: 'bounced',
        bounces: [expect.objectContaining({ recipient: unknown, status: '5.1.1' })],
      },
    });
    // The recipient that exists got the message; only the unknown one is reported.
    expect(
      (await mailboxMessages(stack.imapPort, friend, PASSWORD, 'INBOX')).filter(
        (message) => message.messageId === sent.messageId,
      ),
    ).toHaveLength(1);
  }, 120_000);

  it('records a report once when the same notice is synced again from another folder', async () => {
    const client = await imapAs(stack.imapPort, sender, PASSWORD);
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const uids = await client.search({ header: { 'content-type': 'multipart/report' } }, { uid: true });
        expect(uids).not.toEqual(false);
        await client.messageCopy(uids as number[], 'Archive', { uid: true });
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }

    await syncUntil(async () => {
      const archived = await api.inject({ url: `/api/messages?accountId=${accountId}&folder=Archive`, headers: auth });
      expect(archived.json<{ items: unknown[] }>().items.length).toBeGreaterThan(0);
    });

    expect(await reportRows(bouncedId)).toBe(1);
    expect((await outbox(bouncedId)).bounces.map((bounce) => bounce.recipient)).toEqual([unknown]);
  }, 120_000);

  it("changes nothing for a forged report naming another tenant's send", async () => {
    const theirs = await send(otherAuth, otherAccountId, [friend]);
    const forged = [
      'From: Mail Delivery System <MAILER-DAEMON@forged.test>',
      `To: ${sender}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: <forged-${randomUUID()}@forged.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="forged"',
      '',
      '--forged',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '',
      '--forged',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; forged.test',
      '',
      `Final-Recipient: rfc822; ${friend}`,
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
      '',
      '--forged',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${theirs.messageId}`,
      '',
      '--forged--',
      '',
    ].join('\r\n');
    const client = await imapAs(stack.imapPort, sender, PASSWORD);
    try {
      await client.append('INBOX', forged);
    } finally {
      await client.logout();
    }

    await syncUntil(async () => {
      const inbox = await api.inject({ url: `/api/messages?accountId=${accountId}&folder=INBOX`, headers: auth });
      const senders = inbox.json<{ items: { from: { address: string } | null }[] }>().items.map((item) => item.from);
      expect(senders).toContainEqual(expect.objectContaining({ address: 'MAILER-DAEMON@forged.test' }));
    });

    expect(await outbox(theirs.id, otherAuth)).toMatchObject({ state: 'sent', bounces: [], delays: [] });
    expect(await reportRows(theirs.id)).toBe(0);
    expect((await outbox(bouncedId)).bounces).toHaveLength(1);
  }, 120_000);
});
