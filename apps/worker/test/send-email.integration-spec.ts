import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { SendRecordRepository } from '@app/database';
import type { MailAccount } from '@app/database';
import { JobName, JobProducer } from '@app/queue';
import { simpleParser } from 'mailparser';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ScriptedSmtpServer } from '../../../test/support/scripted-smtp-server.js';
import { eventually } from '../../../test/support/test-config.js';
import { countingListener } from '../../../test/support/counting-listener.js';
import { mailboxMessages } from '../../../test/support/mailbox.js';
import { SendHarness } from '../../../test/support/send-harness.js';

const TENANT = `send-${process.pid}`;
const PASSWORD = 'send-secret';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('send-email processor against Postfix and Dovecot', () => {
  let stack: MailStack;
  let harness: SendHarness;
  let alice: MailAccount;
  const aliceEmail = `alice-send-${process.pid}@example.test`;
  const bobEmail = `bob-send-${process.pid}@example.test`;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    await addMailUsers(stack, [
      { email: aliceEmail, password: PASSWORD },
      { email: bobEmail, password: PASSWORD },
    ]);
    harness = await SendHarness.start();
    alice = await harness.createAccount(TENANT, aliceEmail, PASSWORD, {
      imapPort: stack.imapPort,
      smtpPort: stack.smtpPort,
      displayName: 'Alice Ünïcode',
    });
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
  });

  it('delivers HTML, a 2 MB attachment and a non-ASCII subject intact, and files one copy in Sent', async () => {
    const attachment = randomBytes(2 * 1024 * 1024);
    const subject = 'Grüße aus Köln — 東京 ✉';
    const html = '<p>Hallo <b>Bob</b>, 日本語もOK.</p>';
    const text = 'Hallo Bob, 日本語もOK.';
    const record = await harness.queueSend(
      TENANT,
      alice,
      { to: [{ name: 'Bob Empfänger', address: bobEmail }], subject, html, text },
      [{ filename: 'zufällig.bin', contentType: 'application/octet-stream', content: attachment }],
    );

    const settled = await harness.settled(TENANT, record.id);
    expect(settled).toMatchObject({ state: 'sent', attempts: 1 });
    expect(settled.lastResponse).toMatch(/^250 /);
    expect(settled.smtpAcceptedAt).not.toBeNull();
    expect(settled.sentAt).not.toBeNull();

    const inbox = await eventually(async () => {
      const found = (await mailboxMessages(stack.imapPort, bobEmail, PASSWORD, 'INBOX')).filter(
        (message) => message.messageId === record.messageId,
      );
      if (found.length === 0) throw new Error('not delivered yet');
      return found;
    });
    expect(inbox).toHaveLength(1);
    const parsed = await simpleParser(inbox[0]?.source ?? Buffer.alloc(0));
    expect(parsed.subject).toBe(subject);
    expect(parsed.html).toContain(html);
    expect(parsed.text?.trim()).toBe(text);
    expect(parsed.messageId).toBe(record.messageId);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]?.filename).toBe('zufällig.bin');
    expect(sha256(parsed.attachments[0]?.content ?? Buffer.alloc(0))).toBe(sha256(attachment));

    const sent = (await mailboxMessages(stack.imapPort, aliceEmail, PASSWORD, 'Sent')).filter(
      (message) => message.messageId === record.messageId,
    );
    expect(sent).toHaveLength(1);
    expect(sent[0]?.flags).toContain('\\Seen');
  }, 90_000);

  it('keeps Bcc out of what recipients get but in the Sent copy', async () => {
    const record = await harness.queueSend(TENANT, alice, {
      to: [{ name: '', address: bobEmail }],
      bcc: [{ name: 'Hidden', address: aliceEmail }],
      subject: 'bcc check',
      text: 'x',
    });
    await harness.settled(TENANT, record.id);

    const received = await eventually(async () => {
      const found = (await mailboxMessages(stack.imapPort, bobEmail, PASSWORD, 'INBOX')).find(
        (message) => message.messageId === record.messageId,
      );
      if (!found) throw new Error('not delivered yet');
      return found;
    });
    expect(received.source.toString()).not.toMatch(/^bcc:/im);
    const sent = (await mailboxMessages(stack.imapPort, aliceEmail, PASSWORD, 'Sent')).find(
      (message) => message.messageId === record.messageId,
    );
    expect(sent?.source.toString()).toMatch(/^bcc: Hidden/im);
  }, 60_000);

  it('mirrors a draft into Drafts, and removes it there and in PostgreSQL once sent', async () => {
    const draft = await harness.createDraft(TENANT, alice, {
      to: [{ name: '', address: bobEmail }],
      subject: 'from a draft',
      textBody: 'draft body',
    });
    const drafts = await eventually(async () => {
      const found = (await mailboxMessages(stack.imapPort, aliceEmail, PASSWORD, 'Drafts')).filter((message) =>
        message.messageId?.includes(draft.id),
      );
      if (found.length === 0) throw new Error('draft not mirrored yet');
      return found;
    });
    expect(drafts).toHaveLength(1);
    expect(drafts[0]?.flags).toContain('\\Draft');
    // Mirrored: nothing is owed to the Drafts folder any more, so reconciliation leaves it alone.
    await eventually(async () => expect((await harness.draft(TENANT, draft.id))?.mirroredVersion).toBe(draft.version));

    const record = await harness.queueSend(
      TENANT,
      alice,
      { to: draft.to, subject: draft.subject, text: draft.textBody },
      [],
      draft.id,
    );
    await harness.settled(TENANT, record.id);

    await eventually(async () => {
      expect(await harness.draft(TENANT, draft.id)).toBeNull();
      const left = (await mailboxMessages(stack.imapPort, aliceEmail, PASSWORD, 'Drafts')).filter((message) =>
        message.messageId?.includes(draft.id),
      );
      expect(left).toHaveLength(0);
      // The removal was remembered until its copy was gone, and is forgotten now.
      expect(await harness.draftRemovals(TENANT)).not.toContain(draft.id);
    });
    const sent = (await mailboxMessages(stack.imapPort, aliceEmail, PASSWORD, 'Sent')).filter(
      (message) => message.messageId === record.messageId,
    );
    expect(sent).toHaveLength(1);
  }, 60_000);
});

describe('send-email processor against a scripted SMTP server', () => {
  let stack: MailStack;
  let smtp: ScriptedSmtpServer;
  let harness: SendHarness;
  let account: MailAccount;
  const email = `carol-send-${process.pid}@example.test`;
  let afterAcceptCalls = 0;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    await addMailUsers(stack, [{ email, password: PASSWORD }]);
    smtp = await new ScriptedSmtpServer().start();
    harness = await SendHarness.start({
      hooks: {
        // The crash test's message dies right after the server said 250 the first time.
        afterSmtpAccepted: async (record) => {
          if (record.content.subject !== 'crash after accept') return;
          afterAcceptCalls += 1;
          if (afterAcceptCalls === 1) throw new Error('simulated crash after SMTP accepted the message');
          await Promise.resolve();
        },
      },
    });
    account = await harness.createAccount(TENANT, email, PASSWORD, { imapPort: stack.imapPort, smtpPort: smtp.port });
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    await smtp?.stop();
  });

  it('fails at once with the server’s reason when the recipient is refused with 5xx', async () => {
    smtp.setScript((address) =>
      address.startsWith('nobody')
        ? '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown'
        : '250 2.1.5 Ok',
    );
    const record = await harness.queueSend(TENANT, account, {
      to: [{ name: '', address: 'nobody@example.org' }],
      subject: 'permanent',
      text: 'x',
    });

    const settled = await harness.settled(TENANT, record.id);
    expect(settled).toMatchObject({ state: 'failed', attempts: 1, smtpAcceptedAt: null, sentAt: null });
    expect(settled.lastResponse).toContain('550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown');
    expect(smtp.rcptAttempts.get('nobody@example.org')).toBe(1);
    expect(smtp.countsByMessageId().get(record.messageId)).toBeUndefined();
  });

  it('fails at once, without connecting, when the outbound policy refuses the account’s SMTP server', async () => {
    // Loopback, but not the 127.0.0.1 the test environment allows: refused like any internal address.
    const listener = await countingListener((socket) => socket.destroy(), '127.0.0.2');
    try {
      const port = listener.port;
      const refusedAccount = await harness.createAccount(TENANT, `refused-${process.pid}@example.test`, PASSWORD, {
        imapPort: stack.imapPort,
        smtpPort: port,
        smtpHost: '127.0.0.2',
      });
      const record = await harness.queueSend(TENANT, refusedAccount, {
        to: [{ name: '', address: 'someone@example.org' }],
        subject: 'refused server',
        text: 'x',
      });

      const settled = await harness.settled(TENANT, record.id);
      expect(settled).toMatchObject({ state: 'failed', attempts: 1, smtpAcceptedAt: null, sentAt: null });
      expect(settled.lastResponse).toContain(`Connections to 127.0.0.2 port ${port} are not allowed`);
      expect(listener.connections()).toBe(0);
    } finally {
      listener.server.close();
    }
  });

  it('retries a 4xx with backoff and sends once the server accepts', async () => {
    smtp.setScript((address, { attempt }) =>
      address.startsWith('greylisted') && attempt < 3
        ? '451 4.7.1 <greylisted@example.org>: Recipient address rejected: Greylisted, try again'
        : '250 2.1.5 Ok',
    );
    const record = await harness.queueSend(TENANT, account, {
      to: [{ name: '', address: 'greylisted@example.org' }],
      subject: 'transient',
      text: 'x',
    });

    const settled = await harness.settled(TENANT, record.id);
    expect(settled).toMatchObject({ state: 'sent', attempts: 3 });
    expect(settled.lastResponse).toMatch(/^250 2\.0\.0 Ok: queued as SCRIPTED\d+$/);
    expect(smtp.rcptAttempts.get('greylisted@example.org')).toBe(3);
    expect(smtp.countsByMessageId().get(record.messageId)).toBe(1);
  });

  it('fails after the last attempt when the server keeps answering 4xx', async () => {
    smtp.setScript((address) => (address.startsWith('always') ? '421 4.3.2 Service shutting down' : '250 2.1.5 Ok'));
    const record = await harness.queueSend(TENANT, account, {
      to: [{ name: '', address: 'always-busy@example.org' }],
      subject: 'exhausted',
      text: 'x',
    });

    const settled = await harness.settled(TENANT, record.id);
    expect(settled).toMatchObject({ state: 'failed', attempts: 3 });
    expect(settled.lastResponse).toMatch(/^gave up after 3 attempts: 421 4\.3\.2/);
  });

  it('never hands a message to SMTP again once it was accepted, even when the run dies right after', async () => {
    smtp.setScript(() => '250 2.1.5 Ok');
    const record = await harness.queueSend(TENANT, account, {
      to: [{ name: '', address: 'once@example.org' }],
      subject: 'crash after accept',
      text: 'x',
    });

    const settled = await harness.settled(TENANT, record.id);
    expect(afterAcceptCalls).toBe(1);
    expect(settled).toMatchObject({ state: 'sent', attempts: 1 });
    expect(settled.sentCopyAppendedAt).not.toBeNull();
    expect(smtp.countsByMessageId().get(record.messageId)).toBe(1);
    const sent = (await mailboxMessages(stack.imapPort, email, PASSWORD, 'Sent')).filter(
      (message) => message.messageId === record.messageId,
    );
    expect(sent).toHaveLength(1);
  }, 60_000);

  it('runs a second job of a record another attempt holds only once that claim has expired, and sends once', async () => {
    smtp.setScript(() => '250 2.1.5 Ok');
    const sendRecords = harness.app.get(SendRecordRepository);
    const { record } = await harness.asTenant(TENANT, () =>
      sendRecords.createIdempotent(
        {
          accountId: account.id,
          draftId: null,
          messageId: `<${randomUUID()}@example.test>`,
          content: {
            from: { name: '', address: email },
            to: [{ name: '', address: 'held@example.org' }],
            cc: [],
            bcc: [],
            replyTo: [],
            subject: 'held',
            text: 'x',
            html: null,
            inReplyTo: null,
            references: [],
            attachments: [],
          },
        },
        null,
      ),
    );
    // An attempt on another worker holds the record for 3 s; then a duplicate job of it arrives (a stalled job, a reconciled one).
    await harness.asTenant(TENANT, () => sendRecords.claimAttempts([record.id], 3_000));
    await harness.app.get(JobProducer).enqueue(JobName.SendEmail, { tenantId: TENANT, sendRecordId: record.id });

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(smtp.countsByMessageId().get(record.messageId)).toBeUndefined();
    expect(await harness.record(TENANT, record.id)).toMatchObject({ state: 'sending', attempts: 1 });

    const settled = await harness.settled(TENANT, record.id, 15_000);
    expect(settled).toMatchObject({ state: 'sent', attempts: 2 });
    expect(smtp.countsByMessageId().get(record.messageId)).toBe(1);
  }, 30_000);

  it('lets a job that comes before the sendAt of its record wait for it and send once; a job of a cancelled record sends nothing', async () => {
    smtp.setScript(() => '250 2.1.5 Ok');
    const sendRecords = harness.app.get(SendRecordRepository);
    const content = (subject: string) => ({
      from: { name: '', address: email },
      to: [{ name: '', address: 'later@example.org' }],
      cc: [],
      bcc: [],
      replyTo: [],
      subject,
      text: 'x',
      html: null,
      inReplyTo: null,
      references: [],
      attachments: [],
    });
    const create = (subject: string, sendAt: Date) =>
      harness.asTenant(TENANT, async () => {
        const creation = await sendRecords.createIdempotent(
          {
            accountId: account.id,
            draftId: null,
            messageId: `<${randomUUID()}@example.test>`,
            content: content(subject),
            sendAt,
          },
          null,
        );
        return creation.record;
      });
    const sendAt = new Date(Date.now() + 2_000);
    const held = await create('held until later', sendAt);
    const cancelled = await create('cancelled', new Date(Date.now() + 1_000));
    await harness.asTenant(TENANT, () => sendRecords.cancelQueued(cancelled.id));
    // Enqueued without the delay, as a job enqueued again early or on a clock ahead of the database's would run.
    const producer = harness.app.get(JobProducer);
    await producer.enqueue(JobName.SendEmail, { tenantId: TENANT, sendRecordId: held.id });
    await producer.enqueue(JobName.SendEmail, { tenantId: TENANT, sendRecordId: cancelled.id });

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await harness.record(TENANT, held.id)).toMatchObject({ state: 'queued', attempts: 0 });
    expect(smtp.countsByMessageId().get(held.messageId)).toBeUndefined();

    const settled = await harness.settled(TENANT, held.id, 15_000);
    expect(settled).toMatchObject({ state: 'sent', attempts: 1 });
    expect(settled.sentAt?.getTime()).toBeGreaterThanOrEqual(sendAt.getTime());
    expect(smtp.countsByMessageId().get(held.messageId)).toBe(1);
    expect(await harness.record(TENANT, cancelled.id)).toMatchObject({ state: 'cancelled', attempts: 0 });
    expect(smtp.countsByMessageId().get(cancelled.messageId)).toBeUndefined();
  }, 30_000);
});
