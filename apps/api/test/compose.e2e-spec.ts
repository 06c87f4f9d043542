import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { simpleParser } from 'mailparser';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { ownerQuery } from '../../../test/support/messages-fixture.js';
import { eventually } from '../../../test/support/test-config.js';
import { mailboxMessages } from '../../../test/support/mailbox.js';
import { SendHarness } from '../../../test/support/send-harness.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';
import type { StoredAttachmentDto } from '../src/common/message-fields/stored-attachment.dto.js';
import type { DraftDto } from '../src/modules/drafts/dto/draft-response.dto.js';
import type { SendRecordDto } from '../src/modules/sends/dto/send-record.dto.js';

const PASSWORD = 'compose-secret';
const MIB = 1024 * 1024;

/** A multipart/form-data body written by hand, for parts that FormData would escape or refuse to build. */
function multipartBody(parts: { disposition: string; contentType?: string; content: Buffer }[]): {
  body: Buffer;
  contentType: string;
} {
  const boundary = `----compose-test-${randomUUID()}`;
  const chunks = parts.flatMap((part) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: ${part.disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n`,
    ),
    part.content,
    Buffer.from('\r\n'),
  ]);
  return {
    body: Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

function formWith(files: { name: string; type: string; content: Buffer }[]): FormData {
  const form = new FormData();
  for (const file of files) form.append('file', new Blob([file.content], { type: file.type }), file.name);
  return form;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
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
    (await mailboxMessages(stack.imapPort, user, PASSWORD, folder))
      .filter((message) => message.messageId === messageId)
      .map((message) => message.source);

  const waitUntilSent = async (id: string): Promise<SendRecordDto> =>
    eventually(async () => {
      const record = (await api.inject({ url: `/api/compose/outbox/${id}`, headers: auth })).json<SendRecordDto>();
      if (record.state !== 'sent')
        throw new Error(`send ${id} is ${record.state}: ${record.lastResponse ?? ''}\n${workerOutput.join('')}`);
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
    workerProcess = startWorkerProcess({ REDIS_KEY_PREFIX: worker.redisKeyPrefix }, workerOutput);
    // Room for the 20 MB upload below; the default (18) stays under common providers' 25 MB once base64-encoded.
    api = await ApiProcess.start({ REDIS_KEY_PREFIX: worker.redisKeyPrefix, MAX_MESSAGE_SIZE_MB: '25' });
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

  const upload = async (
    target: ApiProcess,
    account: string,
    body: FormData | Buffer,
    headers: Record<string, string> = auth,
  ): Promise<{ status: number; json: () => unknown }> => {
    const response = await fetch(`${target.baseUrl}/api/compose/attachments?accountId=${account}`, {
      method: 'POST',
      headers,
      body,
    });
    const text = await response.text();
    return { status: response.status, json: () => JSON.parse(text) as unknown };
  };

  const storedCount = async (): Promise<string | undefined> =>
    (await ownerQuery<{ count: string }>('SELECT count(*) FROM stored_attachments WHERE tenant_id = $1', [tenant]))[0]
      ?.count;

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
        attachments: [
          { filename: 'daten.bin', contentType: 'application/octet-stream', content: attachment.toString('base64') },
        ],
      },
    });

    expect(response.statusCode).toBe(202);
    const record = response.json<SendRecordDto>();
    expect(Object.keys(record).sort()).toEqual([
      'attempts',
      'bounces',
      'cancelledAt',
      'createdAt',
      'delays',
      'id',
      'lastResponse',
      'messageId',
      'sendAt',
      'sentAt',
      'state',
    ]);
    expect(record).toMatchObject({
      state: 'queued',
      attempts: 0,
      lastResponse: null,
      sentAt: null,
      bounces: [],
      delays: [],
      sendAt: null,
      cancelledAt: null,
    });
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
          payload: {
            accountId,
            to: [{ name: 'R', address: recipient }],
            subject: `idempotent ${key}`,
            text: 'only once',
          },
        }),
      ),
    );

    expect(responses.map((response) => response.statusCode)).toEqual([202, 202, 202, 202, 202]);
    const ids = new Set(responses.map((response) => response.json<SendRecordDto>().id));
    expect(ids.size).toBe(1);
    expect(responses.filter((response) => response.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
    const [id] = [...ids];
    const record = await waitUntilSent(id ?? '');
    const rows = await ownerQuery<{ count: string }>(
      'SELECT count(*) FROM send_records WHERE tenant_id = $1 AND idempotency_key = $2',
      [tenant, key],
    );
    expect(rows[0]?.count).toBe('1');

    const again = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: { ...auth, 'idempotency-key': key },
      payload: { text: 'only once', subject: `idempotent ${key}`, to: [{ address: recipient, name: 'R' }], accountId },
    });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json<SendRecordDto>()).toMatchObject({ id: record.id, state: 'sent' });

    const before = await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [
      tenant,
    ]);
    const reused = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: { ...auth, 'idempotency-key': key },
      payload: { accountId, to: [recipient], subject: 'a different body, same key', text: 'must not go out' },
    });
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
    expect(reused.json<{ message: string }>().message).toContain(
      `Idempotency-Key "${key}" was already used for a different request`,
    );
    expect(reused.headers['idempotent-replayed']).toBeUndefined();
    const after = await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [
      tenant,
    ]);
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
      payload: {
        accountId,
        to: [recipient],
        subject: 'draft v1',
        text: 'first',
        attachments: [
          { filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('hello').toString('base64') },
        ],
      },
    });
    expect(created.statusCode).toBe(201);
    const draft = created.json<DraftDto>();
    expect(draft).toMatchObject({ version: 1, subject: 'draft v1', attachments: [{ filename: 'a.txt', size: 5 }] });
    const draftCopies = async (): Promise<{ messageId: string | null }[]> =>
      (await mailboxMessages(stack.imapPort, sender, PASSWORD, 'Drafts')).filter((message) =>
        message.messageId?.includes(draft.id),
      );
    await eventually(async () =>
      expect((await draftCopies()).map((copy) => copy.messageId)).toEqual([expect.stringContaining(`${draft.id}.v1.`)]),
    );

    const updated = await api.inject({
      method: 'PUT',
      url: `/api/compose/drafts/${draft.id}`,
      headers: auth,
      payload: { version: 1, to: [recipient], subject: 'draft v2', text: 'second' },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json<DraftDto>()).toMatchObject({ version: 2, subject: 'draft v2' });
    const stale = await api.inject({
      method: 'PUT',
      url: `/api/compose/drafts/${draft.id}`,
      headers: auth,
      payload: { version: 1, subject: 'lost update' },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ statusCode: 409, error: 'Conflict', code: 'draft_version_conflict' });
    await eventually(async () =>
      expect((await draftCopies()).map((copy) => copy.messageId)).toEqual([expect.stringContaining(`${draft.id}.v2.`)]),
    );

    const listed = (await api.inject({ url: `/api/compose/drafts?accountId=${accountId}`, headers: auth })).json<{
      items: DraftDto[];
      nextCursor: string | null;
    }>();
    expect(listed.items.map((item) => item.id)).toContain(draft.id);

    const key = `send-draft-${randomUUID()}`;
    const [first, second] = await Promise.all([
      api.inject({
        method: 'POST',
        url: `/api/compose/send/${draft.id}`,
        headers: { ...auth, 'idempotency-key': key },
      }),
      api.inject({ method: 'POST', url: `/api/compose/send/${draft.id}`, headers: auth }),
    ]);
    expect([first?.statusCode, second?.statusCode]).toEqual([202, 202]);
    expect(first?.json<SendRecordDto>().id).toBe(second?.json<SendRecordDto>().id);
    const record = await waitUntilSent(first?.json<SendRecordDto>().id ?? '');

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
    const replay = await api.inject({
      method: 'POST',
      url: `/api/compose/send/${draft.id}`,
      headers: { ...auth, 'idempotency-key': key },
    });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json<SendRecordDto>().id).toBe(record.id);

    const otherDraft = (
      await api.inject({
        method: 'POST',
        url: '/api/compose/draft',
        headers: auth,
        payload: { accountId, to: [recipient], subject: 'another draft' },
      })
    ).json<DraftDto>();
    const reused = await api.inject({
      method: 'POST',
      url: `/api/compose/send/${otherDraft.id}`,
      headers: { ...auth, 'idempotency-key': key },
    });
    expect(reused.statusCode).toBe(422);
    expect(reused.json<{ message: string }>().message).toContain('was already used for a different request');
    const sendsOfOther = await ownerQuery<{ count: string }>(
      'SELECT count(*) FROM send_records WHERE tenant_id = $1 AND draft_id = $2',
      [tenant, otherDraft.id],
    );
    expect(sendsOfOther[0]?.count).toBe('0');
    const composedWithDraftKey = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: { ...auth, 'idempotency-key': key },
      payload: { accountId, to: [recipient], subject: 'x' },
    });
    expect(composedWithDraftKey.statusCode).toBe(422);
  }, 90_000);

  it('deletes a draft here and in the IMAP Drafts folder', async () => {
    const draft = (
      await api.inject({
        method: 'POST',
        url: '/api/compose/draft',
        headers: auth,
        payload: { accountId, subject: 'to be deleted' },
      })
    ).json<DraftDto>();
    const copies = async (): Promise<number> =>
      (await mailboxMessages(stack.imapPort, sender, PASSWORD, 'Drafts')).filter((message) =>
        message.messageId?.includes(draft.id),
      ).length;
    await eventually(async () => expect(await copies()).toBe(1));

    expect(
      (await api.inject({ method: 'DELETE', url: `/api/compose/drafts/${draft.id}`, headers: auth })).statusCode,
    ).toBe(204);
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
    const idn = await api.inject({
      method: 'POST',
      url: '/api/compose/draft',
      headers: auth,
      payload: { accountId, to: ['Jürgen <juergen@bücher.example>'] },
    });
    expect(idn.statusCode).toBe(201);
    expect(idn.json<{ to: unknown[] }>().to).toEqual([{ name: 'Jürgen', address: 'juergen@bücher.example' }]);
  }, 60_000);

  it('uploads a 20 MB file as multipart and sends it by reference through Postfix to Dovecot, byte for byte', async () => {
    const bytes = randomBytes(20 * MIB);
    const uploaded = await upload(
      api,
      accountId,
      formWith([{ name: 'Größe 20 MB.bin', type: 'application/octet-stream', content: bytes }]),
    );
    expect(uploaded.status).toBe(201);
    const [file] = uploaded.json() as StoredAttachmentDto[];
    expect(file?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(file).toEqual({
      id: file?.id,
      filename: 'Größe 20 MB.bin',
      contentType: 'application/octet-stream',
      size: 20 * MIB,
    });

    const response = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: { ...auth, 'idempotency-key': `upload-${randomUUID()}` },
      payload: {
        accountId,
        to: [recipient],
        subject: 'twenty megabytes',
        text: 'see attachment',
        attachmentIds: [file?.id],
      },
    });
    expect(response.statusCode).toBe(202);
    const record = await waitUntilSent(response.json<SendRecordDto>().id);

    const delivered = await eventually(async () => {
      const found = await inboxOf(recipient, 'INBOX', record.messageId);
      if (found.length === 0) throw new Error('not delivered yet');
      return found;
    }, 30_000);
    expect(delivered).toHaveLength(1);
    const parsed = await simpleParser(delivered[0] ?? Buffer.alloc(0));
    expect(parsed.attachments.map((attachment) => attachment.filename)).toEqual(['Größe 20 MB.bin']);
    expect(sha256(parsed.attachments[0]?.content ?? Buffer.alloc(0))).toBe(sha256(bytes));
  }, 120_000);

  it('keeps an upload in a draft across updates that name it, and sends it with the draft', async () => {
    const uploaded = await upload(
      api,
      accountId,
      formWith([
        { name: 'one.txt', type: 'text/plain', content: Buffer.from('first file') },
        { name: 'two.pdf', type: 'application/pdf', content: Buffer.from('%PDF-1.4 second') },
      ]),
    );
    expect(uploaded.status).toBe(201);
    const files = uploaded.json() as StoredAttachmentDto[];
    expect(files.map((file) => [file.filename, file.contentType, file.size])).toEqual([
      ['one.txt', 'text/plain', 10],
      ['two.pdf', 'application/pdf', 15],
    ]);

    const created = await api.inject({
      method: 'POST',
      url: '/api/compose/draft',
      headers: auth,
      payload: {
        accountId,
        to: [recipient],
        subject: 'with uploads',
        attachments: [
          { filename: 'inline.txt', contentType: 'text/plain', content: Buffer.from('inline').toString('base64') },
        ],
        attachmentIds: files.map((file) => file.id),
      },
    });
    expect(created.statusCode).toBe(201);
    const draft = created.json<DraftDto>();
    expect(draft.attachments.map((attachment) => attachment.filename)).toEqual(['inline.txt', 'one.txt', 'two.pdf']);
    expect(draft.attachments.slice(1).map((attachment) => attachment.id)).toEqual(files.map((file) => file.id));

    const kept = draft.attachments
      .filter((attachment) => attachment.filename !== 'one.txt')
      .map((attachment) => attachment.id);
    const updated = await api.inject({
      method: 'PUT',
      url: `/api/compose/drafts/${draft.id}`,
      headers: auth,
      payload: { version: 1, to: [recipient], subject: 'with uploads', attachmentIds: kept },
    });
    expect(updated.statusCode).toBe(200);
    expect(
      updated.json<{ attachments: StoredAttachmentDto[] }>().attachments.map((attachment) => attachment.filename),
    ).toEqual(['inline.txt', 'two.pdf']);
    const dropped = await ownerQuery<{ count: string }>('SELECT count(*) FROM stored_attachments WHERE id = $1', [
      files[0]?.id,
    ]);
    expect(dropped[0]?.count).toBe('0');

    const sent = await api.inject({ method: 'POST', url: `/api/compose/send/${draft.id}`, headers: auth });
    expect(sent.statusCode).toBe(202);
    const record = await waitUntilSent(sent.json<SendRecordDto>().id);
    const delivered = await eventually(async () => {
      const found = await inboxOf(recipient, 'INBOX', record.messageId);
      if (found.length === 0) throw new Error('not delivered yet');
      return found;
    });
    const parsed = await simpleParser(delivered[0] ?? Buffer.alloc(0));
    expect(parsed.attachments.map((attachment) => [attachment.filename, attachment.content.toString()])).toEqual([
      ['inline.txt', 'inline'],
      ['two.pdf', '%PDF-1.4 second'],
    ]);
  }, 90_000);

  it('keeps uploads to their tenant and account: a foreign id is refused with 400 and nothing is stored or sent', async () => {
    const otherTenant = `compose-other-${randomUUID().slice(0, 8)}`;
    const otherAuth = { authorization: bearerFor(otherTenant) };
    const otherAccount = await api.inject({
      method: 'POST',
      url: '/api/accounts?verify=false',
      headers: otherAuth,
      payload: { email: `other-${otherTenant}@example.test`, password: 'x' },
    });
    expect(otherAccount.statusCode).toBe(201);
    const foreign = await upload(
      api,
      otherAccount.json<{ id: string }>().id,
      formWith([{ name: 'secret.txt', type: 'text/plain', content: Buffer.from('tenant b only') }]),
      otherAuth,
    );
    expect(foreign.status).toBe(201);
    const [foreignFile] = foreign.json() as StoredAttachmentDto[];

    const sendsBefore = await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [
      tenant,
    ]);
    const storedBefore = await storedCount();
    for (const request of [
      {
        method: 'POST',
        url: '/api/compose',
        payload: { accountId, to: [recipient], subject: 'steal', attachmentIds: [foreignFile?.id] },
      },
      {
        method: 'POST',
        url: '/api/compose/draft',
        payload: { accountId, to: [recipient], subject: 'steal', attachmentIds: [foreignFile?.id] },
      },
      {
        method: 'POST',
        url: '/api/compose',
        payload: { accountId, to: [recipient], subject: 'unknown', attachmentIds: [randomUUID()] },
      },
    ]) {
      const response = await api.inject({ ...request, headers: auth });
      expect({ request, status: response.statusCode }).toEqual({ request, status: 400 });
      expect(response.json<{ message: string }>().message).toContain('name no attachment stored for account');
      expect(response.body).not.toContain('secret.txt');
    }
    expect(
      await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [tenant]),
    ).toEqual(sendsBefore);
    expect(await storedCount()).toBe(storedBefore);

    const intoForeignAccount = await upload(
      api,
      otherAccount.json<{ id: string }>().id,
      formWith([{ name: 'x.txt', type: 'text/plain', content: Buffer.from('x') }]),
    );
    expect(intoForeignAccount.status).toBe(404);
    expect(await storedCount()).toBe(storedBefore);
  }, 60_000);

  it('refuses uploads that are not files, have unusable names or types, or are no multipart body, naming the part and storing nothing', async () => {
    const before = await storedCount();
    const good = {
      disposition: 'form-data; name="file"; filename="ok.txt"',
      contentType: 'text/plain',
      content: Buffer.from('fine'),
    };
    const file = (disposition: string, contentType = 'text/plain') => ({
      disposition: `form-data; name="file"; ${disposition}`,
      contentType,
      content: Buffer.from('x'),
    });
    const cases: [string, { body: Buffer; contentType: string }, string][] = [
      [
        'a line break in the filename',
        multipartBody([file(`filename*=UTF-8''evil%0D%0A.txt`)]),
        'Part 1: its filename holds a line break',
      ],
      [
        'a header injection in the filename behind good files',
        multipartBody([good, good, file(`filename*=UTF-8''evil%0D%0ABcc%3A%20x.txt`)]),
        'Part 3: its filename holds a line break',
      ],
      [
        'a lone line feed in the filename before a good file',
        multipartBody([file(`filename*=utf-8''a%0Ab.txt`), good]),
        'Part 1: its filename holds a line break',
      ],
      [
        'a line break continued over RFC 2231 segments',
        multipartBody([good, file(`filename*0*=UTF-8''evil%0D; filename*1*=%0A.txt`)]),
        'Part 2: its filename holds a line break',
      ],
      [
        'a bare carriage return in the Content-Disposition',
        multipartBody([good, file('filename="a\rBcc: x.txt"')]),
        'Part 2: its Content-Disposition header holds a line break',
      ],
      [
        'a bare line feed in the Content-Type',
        multipartBody([good, file('filename="b.txt"', 'text/plain\nBcc: victim@example.com')]),
        'Part 2: its Content-Type header holds a line break',
      ],
      [
        'a line break inside the quoted filename',
        multipartBody([good, file('filename="evil\r\nBcc: victim@example.com.txt"')]),
        'Part 2: its Content-Disposition has a quoted value that is never closed',
      ],
      [
        'a line break inside the quoted filename that leaves no header behind',
        multipartBody([file('filename="evil\r\n.txt"')]),
        'Part 1: its header holds a line that is not a header',
      ],
      [
        'a line break in a Content-Type parameter',
        multipartBody([file('filename="b.txt"', `text/plain; name*=UTF-8''a%0D%0Ab`)]),
        'Part 1: its Content-Type holds a line break',
      ],
      [
        'a part that is not form-data',
        multipartBody([
          good,
          { disposition: 'attachment; filename="c.txt"', contentType: 'text/plain', content: Buffer.from('x') },
        ]),
        'Part 2: its Content-Disposition is "attachment"',
      ],
      [
        'a tab in the filename',
        multipartBody([good, file('filename="a\tb.txt"')]),
        'Part 2: its filename holds a line break or another control character',
      ],
      ['an empty filename', multipartBody([file('filename=""')]), 'Part 1: each file part needs a filename'],
      [
        'a content type that is no MIME type',
        multipartBody([good, file('filename="b.txt"', 'nonsense')]),
        'Part 2: "nonsense" is not a MIME type',
      ],
      [
        'a form field',
        multipartBody([good, { disposition: 'form-data; name="note"', content: Buffer.from('hello') }]),
        'Part 2: unexpected form field "note"',
      ],
      ['no part at all', multipartBody([]), 'The request has no file part'],
    ];
    for (const [name, { body, contentType }, message] of cases) {
      const response = await upload(api, accountId, body, { ...auth, 'content-type': contentType });
      const error = response.json() as { statusCode: number; error: string; message: string; requestId: unknown };
      expect({ name, status: response.status, message: error.message }).toEqual({
        name,
        status: 400,
        message: expect.stringContaining(message) as unknown,
      });
      expect(error.error).toBe('Bad Request');
      expect(typeof error.requestId).toBe('string');
      expect(await storedCount()).toBe(before);
    }
    const json = await api.inject({
      method: 'POST',
      url: `/api/compose/attachments?accountId=${accountId}`,
      headers: auth,
      payload: { file: 'x' },
    });
    expect(json.statusCode).toBe(415);
    expect(json.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
    expect(await storedCount()).toBe(before);

    // The same good file on its own is stored: the refusals above came from the bad part alone.
    const alone = multipartBody([good]);
    const stored = await upload(api, accountId, alone.body, { ...auth, 'content-type': alone.contentType });
    expect(stored.status).toBe(201);
    expect((stored.json() as StoredAttachmentDto[]).map((attachment) => attachment.filename)).toEqual(['ok.txt']);
    expect(await storedCount()).toBe(String(Number(before) + 1));
  }, 60_000);

  it('refuses line breaks in the filename or type of a base64 attachment, naming it, and stores no draft and queues no send', async () => {
    const draftsBefore = await ownerQuery<{ count: string }>('SELECT count(*) FROM drafts WHERE tenant_id = $1', [
      tenant,
    ]);
    const sendsBefore = await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [
      tenant,
    ]);
    const good = { filename: 'ok.txt', contentType: 'text/plain', content: Buffer.from('fine').toString('base64') };
    for (const [bad, message] of [
      [
        { ...good, filename: 'evil\r\nBcc: victim@example.com.txt' },
        'attachments.1.filename must not contain line breaks',
      ],
      [{ ...good, filename: 'evil\n.txt' }, 'attachments.1.filename must not contain line breaks'],
      [
        { ...good, contentType: 'text/plain\r\nBcc: victim@example.com' },
        'attachments.1.contentType must be a MIME type',
      ],
    ] as const) {
      for (const url of ['/api/compose/draft', '/api/compose']) {
        const response = await api.inject({
          method: 'POST',
          url,
          headers: auth,
          payload: { accountId, to: [recipient], subject: 'x', attachments: [good, bad] },
        });
        expect({ url, bad, status: response.statusCode }).toEqual({ url, bad, status: 400 });
        expect(response.json<{ message: string[] }>().message).toContain(message);
      }
    }
    expect(await ownerQuery('SELECT count(*) FROM drafts WHERE tenant_id = $1', [tenant])).toEqual(draftsBefore);
    expect(await ownerQuery('SELECT count(*) FROM send_records WHERE tenant_id = $1', [tenant])).toEqual(sendsBefore);
  }, 30_000);

  it('documents the upload as a multipart body of files and attachmentIds on messages and drafts', async () => {
    const document = (await api.inject({ url: '/docs-json' })).json<{
      paths: Record<
        string,
        Record<
          string,
          { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }
        >
      >;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    }>();
    const body = document.paths['/api/compose/attachments']?.post?.requestBody?.content['multipart/form-data'];
    expect(body?.schema.properties?.file).toEqual({ type: 'array', items: { type: 'string', format: 'binary' } });
    for (const schema of ['ComposeMessageDto', 'CreateDraftDto', 'UpdateDraftDto']) {
      expect({ schema, property: document.components.schemas[schema]?.properties.attachmentIds }).toMatchObject({
        schema,
        property: { type: 'array' },
      });
    }
  });

  it('enforces MAX_MESSAGE_SIZE_MB while an upload streams in, and on JSON bodies, with 413 and nothing stored', async () => {
    const small = await ApiProcess.start({ REDIS_KEY_PREFIX: worker.redisKeyPrefix, MAX_MESSAGE_SIZE_MB: '1' });
    try {
      const before = await storedCount();
      for (const files of [
        [{ name: 'big.bin', type: 'application/octet-stream', content: randomBytes(2 * MIB) }],
        [
          { name: 'a.bin', type: 'application/octet-stream', content: randomBytes(0.6 * MIB) },
          { name: 'b.bin', type: 'application/octet-stream', content: randomBytes(0.6 * MIB) },
        ],
      ]) {
        const response = await upload(small, accountId, formWith(files));
        expect(response.status).toBe(413);
        expect(response.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
        expect((response.json() as { message: string }).message).toContain('exceeds 1.0 MB');
      }
      expect(await storedCount()).toBe(before);
      // The connection is still usable after a refused upload: the API read the body to its end.
      expect(
        (
          await upload(
            small,
            accountId,
            formWith([{ name: 'fits.bin', type: 'application/octet-stream', content: randomBytes(MIB / 2) }]),
          )
        ).status,
      ).toBe(201);

      const tooLarge = await small.inject({
        method: 'POST',
        url: '/api/compose',
        headers: auth,
        payload: {
          accountId,
          to: [recipient],
          subject: 'ok',
          attachments: [
            {
              filename: 'big.bin',
              contentType: 'application/octet-stream',
              content: Buffer.alloc(1.5 * MIB, 1).toString('base64'),
            },
          ],
        },
      });
      expect(tooLarge.statusCode).toBe(413);
      expect(tooLarge.json<{ message: string }>().message).toMatch(/the limit is 1\.0 MB/);
    } finally {
      await small.stop();
    }
  }, 60_000);

  it('answers 503 and stores nothing when sending is disabled', async () => {
    const disabled = await ApiProcess.start({ REDIS_KEY_PREFIX: worker.redisKeyPrefix, ENABLE_SMTP_SEND: 'false' });
    try {
      const before = await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [
        tenant,
      ]);
      const response = await disabled.inject({
        method: 'POST',
        url: '/api/compose',
        headers: { ...auth, 'idempotency-key': 'disabled-1' },
        payload: { accountId, to: [recipient], subject: 'never', text: 'x' },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(response.json<{ message: string }>().message).toContain('ENABLE_SMTP_SEND=false');
      const after = await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [
        tenant,
      ]);
      expect(after[0]?.count).toBe(before[0]?.count);
    } finally {
      await disabled.stop();
    }
  }, 60_000);
});
