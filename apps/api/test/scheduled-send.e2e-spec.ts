import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';

import { simpleParser } from 'mailparser';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { mailboxMessages, serverMessages } from '../../../test/support/mailbox.js';
import { ownerQuery } from '../../../test/support/messages-fixture.js';
import { SendHarness } from '../../../test/support/send-harness.js';
import { createStackAccount } from '../../../test/support/stack-account.js';
import { eventually } from '../../../test/support/test-config.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';
import type { DraftDto } from '../src/modules/drafts/dto/draft-response.dto.js';
import type { SendRecordDto } from '../src/modules/sends/dto/send-record.dto.js';

const PASSWORD = 'scheduled-secret';
/** The undo window of the second API under test. */
const UNDO_SECONDS = 3;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An instant written with a numeric offset, as a client in UTC+01:00 would. */
function withOffset(at: Date): string {
  const local = new Date(at.getTime() + 3600_000).toISOString().replace('Z', '');
  return `${local}+01:00`;
}

describe('scheduled send and undo (POST /api/compose with sendAt, POST /api/compose/outbox/{id}/cancel)', () => {
  const tenant = `scheduled-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  let stack: MailStack;
  let harness: SendHarness;
  let workerProcess: ChildProcess | null = null;
  const workerOutput: string[] = [];
  let api: ApiProcess;
  let undoApi: ApiProcess;
  let accountId: string;
  let sender: string;
  let recipient: string;

  const outbox = async (target: ApiProcess, id: string): Promise<SendRecordDto> =>
    (await target.inject({ url: `/api/compose/outbox/${id}`, headers: auth })).json<SendRecordDto>();

  const cancel = (target: ApiProcess, id: string) =>
    target.inject({ method: 'POST', url: `/api/compose/outbox/${id}/cancel`, headers: auth });

  const compose = async (target: ApiProcess, fields: Record<string, unknown>): Promise<SendRecordDto> => {
    const response = await target.inject({
      method: 'POST',
      url: '/api/compose',
      headers: auth,
      payload: { accountId, to: [recipient], subject: `scheduled ${randomUUID()}`, text: 'later', ...fields },
    });
    expect(response.statusCode).toBe(202);
    return response.json<SendRecordDto>();
  };

  const waitUntilSent = (target: ApiProcess, id: string): Promise<SendRecordDto> =>
    eventually(async () => {
      const record = await outbox(target, id);
      if (record.state !== 'sent')
        throw new Error(`send ${id} is ${record.state}: ${record.lastResponse ?? ''}\n${workerOutput.join('')}`);
      return record;
    }, 30_000);

  const copiesIn = async (user: string, folder: string, messageId: string): Promise<Buffer[]> =>
    (await mailboxMessages(stack.imapPort, user, PASSWORD, folder))
      .filter((message) => message.messageId === messageId)
      .map((message) => message.source);

  const delivered = (messageId: string): Promise<Buffer[]> =>
    eventually(async () => {
      const found = await copiesIn(recipient, 'INBOX', messageId);
      if (found.length === 0) throw new Error('not delivered yet');
      return found;
    });

  const sendCount = async (): Promise<number> =>
    Number(
      (await ownerQuery<{ count: string }>('SELECT count(*) FROM send_records WHERE tenant_id = $1', [tenant]))[0]
        ?.count,
    );

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    sender = `sched-sender-${randomUUID().slice(0, 8)}@${stack.domain}`;
    recipient = `sched-recipient-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUsers(stack, [
      { email: sender, password: PASSWORD },
      { email: recipient, password: PASSWORD },
    ]);
    harness = await SendHarness.start({ consume: false });
    workerProcess = startWorkerProcess({ REDIS_KEY_PREFIX: harness.redisKeyPrefix }, workerOutput);
    [api, undoApi] = await Promise.all([
      ApiProcess.start({ REDIS_KEY_PREFIX: harness.redisKeyPrefix }),
      ApiProcess.start({ REDIS_KEY_PREFIX: harness.redisKeyPrefix, UNDO_SEND_SECONDS: String(UNDO_SECONDS) }),
    ]);
    accountId = await createStackAccount(api, stack, auth, sender, PASSWORD);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), undoApi?.stop()]);
    if (workerProcess) await stopProcess(workerProcess);
    await harness?.close();
  });

  it('holds a message scheduled 3 s ahead until then, dates it then, and refuses to cancel it once sent', async () => {
    const sendAt = new Date(Date.now() + 3_000);
    const accepted = await compose(api, { sendAt: withOffset(sendAt) });
    expect(accepted).toMatchObject({ state: 'queued', attempts: 0, sendAt: sendAt.toISOString(), cancelledAt: null });

    await sleep(1_500);
    expect(await outbox(api, accepted.id)).toMatchObject({ state: 'queued', attempts: 0 });
    expect(await copiesIn(recipient, 'INBOX', accepted.messageId)).toHaveLength(0);

    const sent = await waitUntilSent(api, accepted.id);
    expect(new Date(sent.sentAt ?? 0).getTime()).toBeGreaterThanOrEqual(sendAt.getTime());
    const [copy] = await delivered(accepted.messageId);
    // The Date header and IMAP's INTERNALDATE have whole seconds.
    expect((await simpleParser(copy ?? Buffer.alloc(0))).date?.getTime()).toBe(
      Math.floor(sendAt.getTime() / 1000) * 1000,
    );
    const arrival = (await serverMessages(stack.imapPort, recipient, PASSWORD)).find(
      (message) => message.folder === 'INBOX' && message.messageId === accepted.messageId,
    );
    expect(arrival?.internalDate.getTime()).toBeGreaterThanOrEqual(Math.floor(sendAt.getTime() / 1000) * 1000);
    await eventually(async () => expect(await copiesIn(sender, 'Sent', accepted.messageId)).toHaveLength(1));

    const tooLate = await cancel(api, accepted.id);
    expect(tooLate.statusCode).toBe(409);
    expect(tooLate.json()).toMatchObject({ statusCode: 409, code: 'send_already_sent' });
    expect(await outbox(api, accepted.id)).toMatchObject({ state: 'sent', cancelledAt: null });
    expect(await copiesIn(recipient, 'INBOX', accepted.messageId)).toHaveLength(1);
  }, 60_000);

  it('cancels a scheduled draft before it is due: nothing goes out and the draft comes back as it was', async () => {
    const subject = `draft scheduled ${randomUUID()}`;
    const draft = (
      await api.inject({
        method: 'POST',
        url: '/api/compose/draft',
        headers: auth,
        payload: { accountId, to: [recipient], subject, text: 'wait for it' },
      })
    ).json<DraftDto>();
    const listed = async (): Promise<string[]> =>
      (await api.inject({ url: `/api/compose/drafts?accountId=${accountId}`, headers: auth }))
        .json<{ items: DraftDto[] }>()
        .items.map((item) => item.id);
    const { state: changesBefore } = (
      await api.inject({ url: `/api/changes?accountId=${accountId}`, headers: auth })
    ).json<{ state: string }>();

    const sendAt = new Date(Date.now() + 3_000);
    const scheduled = await api.inject({
      method: 'POST',
      url: `/api/compose/send/${draft.id}`,
      headers: auth,
      payload: { sendAt: sendAt.toISOString() },
    });
    expect(scheduled.statusCode).toBe(202);
    const record = scheduled.json<SendRecordDto>();
    expect(record).toMatchObject({ state: 'queued', sendAt: sendAt.toISOString() });

    expect(await listed()).not.toContain(draft.id);
    expect((await api.inject({ url: `/api/compose/drafts/${draft.id}`, headers: auth })).statusCode).toBe(200);
    const edit = await api.inject({
      method: 'PUT',
      url: `/api/compose/drafts/${draft.id}`,
      headers: auth,
      payload: { version: draft.version, subject: 'changed while scheduled' },
    });
    expect(edit.json()).toMatchObject({ statusCode: 409, code: 'draft_being_sent' });

    const cancelled = await cancel(api, record.id);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json<SendRecordDto>()).toMatchObject({ id: record.id, state: 'cancelled', attempts: 0 });
    const cancelledAt = new Date(cancelled.json<SendRecordDto>().cancelledAt ?? 0).getTime();
    expect(cancelledAt).toBeLessThan(sendAt.getTime());
    const again = await cancel(api, record.id);
    expect([again.statusCode, again.json<SendRecordDto>().state]).toEqual([200, 'cancelled']);

    expect(await listed()).toContain(draft.id);
    const restored = (await api.inject({ url: `/api/compose/drafts/${draft.id}`, headers: auth })).json<DraftDto>();
    expect(restored).toMatchObject({ id: draft.id, version: draft.version, subject, text: 'wait for it' });

    await sleep(Math.max(0, sendAt.getTime() - Date.now()) + 2_500);
    expect(await outbox(api, record.id)).toMatchObject({ state: 'cancelled', attempts: 0, sentAt: null });
    expect(await copiesIn(recipient, 'INBOX', record.messageId)).toHaveLength(0);
    const changes = (
      await api.inject({ url: `/api/changes?accountId=${accountId}&since=${changesBefore}`, headers: auth })
    ).json<{ changes: { type: string; id: string; op: string }[] }>().changes;
    expect(
      changes.filter((change) => change.type === 'send' && change.id === record.id).map((change) => change.op),
    ).toEqual(['created', 'updated']);

    // Given back whole: it can be edited and sent again, at once this time.
    const edited = await api.inject({
      method: 'PUT',
      url: `/api/compose/drafts/${draft.id}`,
      headers: auth,
      payload: { version: draft.version, to: [recipient], subject: `${subject} (sent)`, text: 'now' },
    });
    expect(edited.statusCode).toBe(200);
    const resent = await api.inject({ method: 'POST', url: `/api/compose/send/${draft.id}`, headers: auth });
    expect(resent.statusCode).toBe(202);
    expect(resent.json<SendRecordDto>().id).not.toBe(record.id);
    const sent = await waitUntilSent(api, resent.json<SendRecordDto>().id);
    expect((await simpleParser((await delivered(sent.messageId))[0] ?? Buffer.alloc(0))).subject).toBe(
      `${subject} (sent)`,
    );
    await eventually(async () =>
      expect((await api.inject({ url: `/api/compose/drafts/${draft.id}`, headers: auth })).statusCode).toBe(404),
    );
  }, 60_000);

  it('refuses a sendAt without zone, malformed or over 30 days ahead with 400, storing nothing; one in the past sends now', async () => {
    const before = await sendCount();
    for (const [sendAt, code] of [
      ['2026-12-24T09:00:00', 'validation_failed'],
      ['2026-12-24 09:00:00Z', 'validation_failed'],
      ['2026-02-30T09:00:00Z', 'validation_failed'],
      ['in an hour', 'validation_failed'],
      [new Date(Date.now() + 31 * 24 * 3600_000).toISOString(), 'send_at_too_far_ahead'],
    ] as const) {
      const response = await api.inject({
        method: 'POST',
        url: '/api/compose',
        headers: auth,
        payload: { accountId, to: [recipient], subject: 'x', text: 'x', sendAt },
      });
      expect({ sendAt, status: response.statusCode, code: response.json<{ code: string }>().code }).toEqual({
        sendAt,
        status: 400,
        code,
      });
    }
    const draft = (
      await api.inject({
        method: 'POST',
        url: '/api/compose/draft',
        headers: auth,
        payload: { accountId, to: [recipient] },
      })
    ).json<DraftDto>();
    for (const payload of [{ sendAt: 'soon' }, { sendAt: 1798000000 }, { at: '2026-12-24T09:00:00Z' }, [], [{}]]) {
      const response = await api.inject({
        method: 'POST',
        url: `/api/compose/send/${draft.id}`,
        headers: auth,
        payload,
      });
      expect({ payload, status: response.statusCode }).toEqual({ payload, status: 400 });
    }
    expect(await sendCount()).toBe(before);

    const past = await compose(api, { sendAt: new Date(Date.now() - 3600_000).toISOString() });
    expect(past.sendAt).toBeNull();
    await waitUntilSent(api, past.id);
    const inWindow = await compose(api, { sendAt: new Date(Date.now() + 30 * 24 * 3600_000 - 60_000).toISOString() });
    expect((await cancel(api, inWindow.id)).json()).toMatchObject({ state: 'cancelled' });
  }, 60_000);

  it(`holds every send for UNDO_SEND_SECONDS=${UNDO_SECONDS}: cancelled within the window nothing goes out, else it leaves after it`, async () => {
    const askedAt = Date.now();
    const undone = await compose(undoApi, {});
    const answeredAt = Date.now();
    // Held from when the API accepted it, which is between the request and its answer.
    const heldUntil = new Date(undone.sendAt ?? 0).getTime();
    expect(heldUntil).toBeGreaterThanOrEqual(askedAt + UNDO_SECONDS * 1000);
    expect(heldUntil).toBeLessThanOrEqual(answeredAt + UNDO_SECONDS * 1000);
    const kept = await compose(undoApi, {});
    // The later of the two wins: a sendAt inside the undo window waits for the window's end.
    const soon = await compose(undoApi, { sendAt: new Date(Date.now() + 1_000).toISOString() });
    expect(new Date(soon.sendAt ?? 0).getTime()).toBeGreaterThan(Date.now() + 1_000);

    await sleep(1_000);
    expect((await cancel(undoApi, undone.id)).json()).toMatchObject({ state: 'cancelled' });

    const sent = await waitUntilSent(undoApi, kept.id);
    expect(new Date(sent.sentAt ?? 0).getTime()).toBeGreaterThanOrEqual(new Date(kept.sendAt ?? 0).getTime());
    expect(new Date(sent.sentAt ?? 0).getTime()).toBeGreaterThanOrEqual(askedAt + UNDO_SECONDS * 1000);
    expect(await delivered(kept.messageId)).toHaveLength(1);
    await waitUntilSent(undoApi, soon.id);
    await sleep(1_500);
    expect(await outbox(undoApi, undone.id)).toMatchObject({ state: 'cancelled', attempts: 0 });
    expect(await copiesIn(recipient, 'INBOX', undone.messageId)).toHaveLength(0);
  }, 60_000);
});
