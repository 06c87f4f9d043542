import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { simpleParser } from 'mailparser';
import pg from 'pg';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { eventually } from '../../../test/support/test-config.js';
import { mailboxMessages, SendHarness, startWorkerProcess, stopProcess } from '../../worker/test/send-harness.js';

interface SendRecord {
  id: string;
  state: string;
  attempts: number;
  messageId: string;
  lastResponse: string | null;
  createdAt: string;
  sentAt: string | null;
}

interface DraftBody {
  id: string;
  version: number;
  subject: string;
}

const PASSWORD = 'compose-secret';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function ownerQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_MIGRATION_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('/api/compose', () => {
  const tenant = `compose-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  let stack: MailStack;
  let worker: SendHarness;
  let workerProcess: ChildProcess | null = null;
  const workerOutput: string[] = [];
  let api: ApiProcess;
  let accountId: string;
  let sender: string;
  let recipient: string;

  const inboxOf = async (user: string, folder: string, messageId: string): Promise<Buffer[]> =>
    (await mailboxMessages(stack.imapPort, user, PASSWORD, folder)).filter((message) => message.messageId === messageId).map((message) => message.source);

  const waitUntilSent = async (id: string): Promise<SendRecord> =>
    eventually(async () => {
      const record = (await api.inject({ url: `/api/compose/outbox/${id}`, headers: auth })).json<SendRecord>();
      if (record.state !== 'sent') throw new Error(`send ${id} is ${record.state}: ${record.lastResponse ?? ''}\n${workerOutput.join('')}`);
      return record;
    }, 30_000);

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    sender = `sender-${randomUUID().slice(0, 8)}@${stack.domain}`;
    recipient = `recipient-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUsers(stack, [
      { email: sender, password: PASSWORD },
      { email: recipient, password: PASSWORD },
    ]);
    worker = await SendHarness.start({ consume: false });
    workerProcess = startWorkerProcess(worker.redisKeyPrefix, workerOutput);
    api = await ApiProcess.start({ REDIS_KEY_PREFIX: worker.redisKeyPrefix });
    const created = await api.inject({
      method: 'POST',
      url: '/api/accounts',
      headers: auth,
      payload: {
        email: sender,
        password: PASSWORD,
        displayName: 'Sender Ü',
        imap: { host: stack.host, port: stack.imapPort, security: 'none' },
        smtp: { host: stack.host, port: stack.smtpPort, security: 'none' },
      },
    });
    expect(created.statusCode).toBe(201);
    accountId = created.json<{ id: string }>().id;
  }, 90_000);

  afterAll(async () => {
    await api?.stop();
    if (workerProcess) await stopProcess(workerProcess);
    await worker?.close();
  });

  it('sends HTML, a 2 MB attachment and a non-ASCII subject as a reply, answering 202 with the send record', async () => {
    const attachment = randomBytes(2 * 1024 * 1024);
    const subject = 'Re: Ärger mit Übergrößen — 東京';
    const html = '<h1>Grüße</h1><p>Ein <i>Test</i> 🚀</p>';
    const response = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: auth,
      payload: {
        accountId,
        to: [`Empfänger Name <${recipient}>`],
        subject,
        text: 'Grüße, ein Test 🚀',
        html,
        inReplyTo: '<parent-1@example.test>',
        references: ['<root-1@example.test>'],
        attachments: [{ filename: 'daten.bin', contentType: 'application/octet-stream', content: attachment.toString('base64') }],
      },
    });

    expect(response.statusCode).toBe(202);
    const record = response.json<SendRecord>();
    expect(Object.keys(record).sort()).toEqual(['attempts', 'createdAt', 'id', 'lastResponse', 'messageId', 'sentAt', 'state']);
    expect(record).toMatchObject({ state: 'queued', attempts: 0, lastResponse: null, sentAt: null });
    expect(record.messageId).toMatch(new RegExp(`^<[0-9a-f-]{36}@${stack.domain.replace('.', '\\.')}>$`));

    const sent = await waitUntilSent(record.id);
    expect(sent).toMatchObject({ id: record.id, attempts: 1, messageId: record.messageId });
    expect(sent.lastResponse).toMatch(/^250 /);
    expect(sent.sentAt).not.toBeNull();

    const delivered = await eventually(async () => {
      const found = await inboxOf(recipient, 'INBOX', record.messageId);
      if (found.length === 0) throw new Error('not delivered yet');
      return found;
    });
    expect(delivered).toHaveLength(1);
    const parsed = await simpleParser(delivered[0] ?? Buffer.alloc(0));
    expect(parsed.subject).toBe(subject);
    expect(parsed.html).toContain(html);
    expect(parsed.text?.trim()).toBe('Grüße, ein Test 🚀');
    expect(parsed.from?.value[0]).toEqual({ name: 'Sender Ü', address: sender });
    expect(parsed.inReplyTo).toBe('<parent-1@example.test>');
    expect(parsed.references).toEqual(['<root-1@example.test>', '<parent-1@example.test>']);
    expect(parsed.attachments).toHaveLength(1);
    expect(sha256(parsed.attachments[0]?.content ?? Buffer.alloc(0))).toBe(sha256(attachment));
    await eventually(async () => expect(await inboxOf(sender, 'Sent', record.messageId)).toHaveLength(1));
  }, 90_000);

  it('sends once for five concurrent requests with the same Idempotency-Key', async () => {
    const key = `double-click-${randomUUID()}`;
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.inject({
          method: 'POST',
          url: '/api/compose',
          headers: { ...auth, 'idempotency-key': key },
          payload: { accountId, to: [{ name: 'R', address: recipient }], subject: `idempotent ${key}`, text: 'only once' },
        }),
      ),
    );

    expect(responses.map((response) => response.statusCode)).toEqual([202, 202, 202, 202, 202]);
    const ids = new Set(responses.map((response) => response.json<SendRecord>().id));
    expect(ids.size).toBe(1);
    expect(responses.filter((response) => response.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
    const [id] = [...ids];
    const record = await waitUntilSent(id ?? '');
    const rows = await ownerQuery<{ count: string }>('SELECT count(*) FROM outbound_messages WHERE tenant_id = $1 AND idempotency_key = $2', [tenant, key]);
    expect(rows[0]?.count).toBe('1');

    const again = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: { ...auth, 'idempotency-key': key },
      payload: { text: 'only once', subject: `idempotent ${key}`, to: [{ address: recipient, name: 'R' }], accountId },
    });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json<SendRecord>()).toMatchObject({ id: record.id, state: 'sent' });

    const before = await ownerQuery<{ count: string }>('SELECT count(*) FROM outbound_messages WHERE tenant_id = $1', [tenant]);
    const reused = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: { ...auth, 'idempotency-key': key },
      payload: { accountId, to: [recipient], subject: 'a different body, same key', text: 'must not go out' },
    });
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
    expect(reused.json<{ message: string }>().message).toContain(`Idempotency-Key "${key}" was already used for a different request`);
    expect(reused.headers['idempotent-replayed']).toBeUndefined();
    const after = await ownerQuery<{ count: string }>('SELECT count(*) FROM outbound_messages WHERE tenant_id = $1', [tenant]);
    expect(after[0]?.count).toBe(before[0]?.count);

    await eventually(async () => expect(await inboxOf(recipient, 'INBOX', record.messageId)).toHaveLength(1));
    // Give a stray second delivery the time Postfix needs to hand it to Dovecot.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await inboxOf(recipient, 'INBOX', record.messageId)).toHaveLength(1);
    expect(await inboxOf(sender, 'Sent', record.messageId)).toHaveLength(1);
  }, 90_000);

  it('saves a draft to PostgreSQL and IMAP, refuses a stale update with 409, and sends it once', async () => {
    const created = await api.inject({
      method: 'POST',
      url: '/api/compose/draft',
      headers: auth,
      payload: { accountId, to: [recipient], subject: 'draft v1', text: 'first', attachments: [{ filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('hello').toString('base64') }] },
    });
    expect(created.statusCode).toBe(201);
    const draft = created.json<DraftBody & { attachments: { filename: string; size: number }[] }>();
    expect(draft).toMatchObject({ version: 1, subject: 'draft v1', attachments: [{ filename: 'a.txt', size: 5 }] });
    const draftCopies = async (): Promise<{ messageId: string | null }[]> =>
      (await mailboxMessages(stack.imapPort, sender, PASSWORD, 'Drafts')).filter((message) => message.messageId?.includes(draft.id));
    await eventually(async () => expect((await draftCopies()).map((copy) => copy.messageId)).toEqual([expect.stringContaining(`${draft.id}.v1.`)]));

    const updated = await api.inject({ method: 'PUT', url: `/api/compose/drafts/${draft.id}`, headers: auth, payload: { version: 1, to: [recipient], subject: 'draft v2', text: 'second' } });
    expect(updated.statusCode).toBe(200);
    expect(updated.json<DraftBody>()).toMatchObject({ version: 2, subject: 'draft v2' });
    const stale = await api.inject({ method: 'PUT', url: `/api/compose/drafts/${draft.id}`, headers: auth, payload: { version: 1, subject: 'lost update' } });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ statusCode: 409, error: 'Conflict' });
    await eventually(async () => expect((await draftCopies()).map((copy) => copy.messageId)).toEqual([expect.stringContaining(`${draft.id}.v2.`)]));

    const listed = (await api.inject({ url: `/api/compose/drafts?accountId=${accountId}`, headers: auth })).json<{ items: DraftBody[]; nextCursor: string | null }>();
    expect(listed.items.map((item) => item.id)).toContain(draft.id);

    const key = `send-draft-${randomUUID()}`;
    const [first, second] = await Promise.all([
      api.inject({ method: 'POST', url: `/api/compose/send/${draft.id}`, headers: { ...auth, 'idempotency-key': key } }),
      api.inject({ method: 'POST', url: `/api/compose/send/${draft.id}`, headers: auth }),
    ]);
    expect([first?.statusCode, second?.statusCode]).toEqual([202, 202]);
    expect(first?.json<SendRecord>().id).toBe(second?.json<SendRecord>().id);
    const record = await waitUntilSent(first?.json<SendRecord>().id ?? '');

    await eventually(async () => {
      expect((await api.inject({ url: `/api/compose/drafts/${draft.id}`, headers: auth })).statusCode).toBe(404);
      expect(await draftCopies()).toHaveLength(0);
      expect(await inboxOf(sender, 'Sent', record.messageId)).toHaveLength(1);
    });
    const delivered = await eventually(async () => {
      const found = await inboxOf(recipient, 'INBOX', record.messageId);
      if (found.length === 0) throw new Error('not delivered yet');
      return found;
    });
    expect(delivered).toHaveLength(1);
    expect((await simpleParser(delivered[0] ?? Buffer.alloc(0))).subject).toBe('draft v2');
    const replay = await api.inject({ method: 'POST', url: `/api/compose/send/${draft.id}`, headers: { ...auth, 'idempotency-key': key } });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json<SendRecord>().id).toBe(record.id);

    const otherDraft = (await api.inject({ method: 'POST', url: '/api/compose/draft', headers: auth, payload: { accountId, to: [recipient], subject: 'another draft' } })).json<DraftBody>();
    const reused = await api.inject({ method: 'POST', url: `/api/compose/send/${otherDraft.id}`, headers: { ...auth, 'idempotency-key': key } });
    expect(reused.statusCode).toBe(422);
    expect(reused.json<{ message: string }>().message).toContain('was already used for a different request');
    const sendsOfOther = await ownerQuery<{ count: string }>('SELECT count(*) FROM outbound_messages WHERE tenant_id = $1 AND draft_id = $2', [tenant, otherDraft.id]);
    expect(sendsOfOther[0]?.count).toBe('0');
    const composedWithDraftKey = await api.inject({ method: 'POST', url: '/api/compose', headers: { ...auth, 'idempotency-key': key }, payload: { accountId, to: [recipient], subject: 'x' } });
    expect(composedWithDraftKey.statusCode).toBe(422);
  }, 90_000);

  it('deletes a draft here and in the IMAP Drafts folder', async () => {
    const draft = (await api.inject({ method: 'POST', url: '/api/compose/draft', headers: auth, payload: { accountId, subject: 'to be deleted' } })).json<DraftBody>();
    const copies = async (): Promise<number> => (await mailboxMessages(stack.imapPort, sender, PASSWORD, 'Drafts')).filter((message) => message.messageId?.includes(draft.id)).length;
    await eventually(async () => expect(await copies()).toBe(1));

    expect((await api.inject({ method: 'DELETE', url: `/api/compose/drafts/${draft.id}`, headers: auth })).statusCode).toBe(204);
    expect((await api.inject({ url: `/api/compose/drafts/${draft.id}`, headers: auth })).statusCode).toBe(404);
    await eventually(async () => expect(await copies()).toBe(0));
  }, 60_000);

  it('refuses bad addresses, missing recipients and header injection with 400, oversized messages with 413', async () => {
    const base = { accountId, to: [recipient], subject: 'ok', text: 'x' };
    for (const payload of [
      { ...base, to: [] },
      { ...base, to: ['not an address'] },
      { ...base, to: ['a@example.test, b@example.test'] },
      { ...base, subject: 'Hello\r\nBcc: victim@example.com' },
      { ...base, to: [{ name: 'Eve\r\nBcc: victim@example.com', address: recipient }] },
      { ...base, to: [{ name: 'x', address: recipient, extra: true }] },
      { ...base, inReplyTo: '<a@b>\r\nX-Injected: 1' },
      { ...base, attachments: [{ filename: 'x\r\n.txt', contentType: 'text/plain', content: 'eA==' }] },
      { ...base, unknownField: 1 },
    ]) {
      const response = await api.inject({ method: 'POST', url: '/api/compose', headers: auth, payload });
      expect({ payload, status: response.statusCode }).toEqual({ payload, status: 400 });
      expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(typeof response.json().requestId).toBe('string');
    }
    const idn = await api.inject({ method: 'POST', url: '/api/compose/draft', headers: auth, payload: { accountId, to: ['Jürgen <juergen@bücher.example>'] } });
    expect(idn.statusCode).toBe(201);
    expect(idn.json<{ to: unknown[] }>().to).toEqual([{ name: 'Jürgen', address: 'juergen@bücher.example' }]);

    const tooLarge = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: auth,
      payload: { ...base, attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: Buffer.alloc(16 * 1024 * 1024, 1).toString('base64') }] },
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json<{ message: string }>().message).toMatch(/the limit is 15\.0 MB/);
  }, 60_000);

  it('answers 503 and stores nothing when sending is disabled', async () => {
    const disabled = await ApiProcess.start({ REDIS_KEY_PREFIX: worker.redisKeyPrefix, ENABLE_SMTP_SEND: 'false' });
    try {
      const before = await ownerQuery<{ count: string }>('SELECT count(*) FROM outbound_messages WHERE tenant_id = $1', [tenant]);
      const response = await disabled.inject({
        method: 'POST',
        url: '/api/compose',
        headers: { ...auth, 'idempotency-key': 'disabled-1' },
        payload: { accountId, to: [recipient], subject: 'never', text: 'x' },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(response.json<{ message: string }>().message).toContain('ENABLE_SMTP_SEND=false');
      const after = await ownerQuery<{ count: string }>('SELECT count(*) FROM outbound_messages WHERE tenant_id = $1', [tenant]);
      expect(after[0]?.count).toBe(before[0]?.count);
    } finally {
      await disabled.stop();
    }
  }, 60_000);
});
