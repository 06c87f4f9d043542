import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';

import { QueueName } from '@app/queue';
import { Queue } from 'bullmq';

import { verifySignature } from '../../worker/src/webhooks/webhook-signature.js';
import type {
  WebhookDeliveryDto,
  WebhookDto,
  WebhookWithSecretDto,
} from '../src/modules/webhooks/dto/webhook-response.dto.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { PrivateDatabase } from '../../../test/support/private-database.js';
import { eventually } from '../../../test/support/test-config.js';
import { WebhookReceiver } from '../../../test/support/webhook-receiver.js';
import type { ReceivedWebhook } from '../../../test/support/webhook-receiver.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';

const TENANT_A = `webhooks-e2e-a-${process.pid}`;
const TENANT_B = `webhooks-e2e-b-${process.pid}`;

interface WebhookEvent {
  id: string;
  type: string;
  accountId: string;
  tenantId: string;
  createdAt: string;
  data: { id: string } & Record<string, unknown>;
}

/**
 * Webhooks over HTTP, delivered by a real worker: retries come within a second and the retry
 * window is 7.2 s (WEBHOOK_RETRY_HOURS=0.002), so an endpoint that keeps failing is disabled
 * within the test. In a database of this file's own: every worker dispatches the webhooks of every
 * tenant in its database, and one started by another test file, with the production retry delays,
 * would otherwise take these deliveries' first attempts and keep their retries for minutes.
 */
describe('webhooks', () => {
  let database: PrivateDatabase;
  let api: ApiProcess;
  let worker: ChildProcess;
  const workerOutput: string[] = [];
  let accountId: string;
  let queuePrefix: string;

  const as = (tenant: string) => ({ authorization: bearerFor(tenant) });

  async function createWebhook(body: Record<string, unknown>, tenant = TENANT_A): Promise<WebhookWithSecretDto> {
    const response = await api.inject({ method: 'POST', url: '/api/webhooks', headers: as(tenant), payload: body });
    expect(response.statusCode).toBe(201);
    return response.json<WebhookWithSecretDto>();
  }

  async function deliveriesOf(webhookId: string): Promise<WebhookDeliveryDto[]> {
    const response = await api.inject({ url: `/api/webhooks/${webhookId}/deliveries`, headers: as(TENANT_A) });
    expect(response.statusCode).toBe(200);
    return response.json<{ items: WebhookDeliveryDto[] }>().items;
  }

  async function createDraft(subject: string): Promise<string> {
    const response = await api.inject({
      method: 'POST',
      url: '/api/compose/draft',
      headers: as(TENANT_A),
      payload: { accountId, subject, text: 'body', to: [{ address: 'bob@example.test' }] },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: string }>().id;
  }

  function eventOf(request: ReceivedWebhook): WebhookEvent {
    return JSON.parse(request.body) as WebhookEvent;
  }

  beforeAll(async () => {
    const prefix = `${process.env.REDIS_KEY_PREFIX ?? 'test'}:webhooks-${randomUUID().slice(0, 8)}`;
    queuePrefix = `${prefix}:queue`;
    database = await PrivateDatabase.create('webhooks');
    const own = { REDIS_KEY_PREFIX: prefix, DATABASE_URL: database.url, DATABASE_MIGRATION_URL: database.migrationUrl };
    worker = startWorkerProcess(
      {
        ...own,
        WEBHOOK_RETRY_BASE_SECONDS: '0.2',
        WEBHOOK_RETRY_HOURS: '0.002',
        WEBHOOK_SWEEP_SECONDS: '1',
      },
      workerOutput,
    );
    api = await ApiProcess.start(own);
    const account = await api.inject({
      method: 'POST',
      url: '/api/accounts?verify=false',
      headers: as(TENANT_A),
      payload: {
        email: `hooks-${process.pid}@example.test`,
        password: 'unused',
        // Nothing listens there: the draft copies the worker attempts fail, which webhooks do not mind.
        imap: { host: '127.0.0.1', port: 1, security: 'none' },
        smtp: { host: '127.0.0.1', port: 1, security: 'none' },
      },
    });
    expect(account.statusCode).toBe(201);
    accountId = account.json<{ id: string }>().id;
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
    if (worker) await stopProcess(worker);
    await database?.drop();
  });

  it('creates, reads, lists, updates, rotates and deletes a webhook; its secret is shown only when generated', async () => {
    const receiver = await WebhookReceiver.start();
    const created = await createWebhook({ url: receiver.url, events: ['message.created', 'send.sent'] });
    expect(created).toMatchObject({
      url: receiver.url,
      events: ['message.created', 'send.sent'],
      accountIds: null,
      active: true,
      disabledReason: null,
      tenantId: TENANT_A,
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const read = await api.inject({ url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) });
    expect(read.statusCode).toBe(200);
    expect(read.json()).not.toHaveProperty('secret');
    expect(read.body).not.toContain(created.secret);
    const list = await api.inject({ url: '/api/webhooks?limit=200', headers: as(TENANT_A) });
    expect(list.json<{ items: WebhookDto[] }>().items.map((webhook) => webhook.id)).toContain(created.id);
    expect(list.body).not.toContain(created.secret);

    const updated = await api.inject({
      method: 'PUT',
      url: `/api/webhooks/${created.id}`,
      headers: as(TENANT_A),
      payload: { events: ['*'], accountIds: [accountId], active: false },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ events: ['*'], accountIds: [accountId], active: false });
    expect(updated.json()).not.toHaveProperty('secret');

    const rotated = await api.inject({
      method: 'POST',
      url: `/api/webhooks/${created.id}/rotate-secret`,
      headers: as(TENANT_A),
    });
    expect(rotated.statusCode).toBe(200);
    const newSecret = rotated.json<WebhookWithSecretDto>().secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(created.secret);
    expect((await api.inject({ url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) })).body).not.toContain(
      newSecret,
    );

    const deleted = await api.inject({ method: 'DELETE', url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) });
    expect(deleted.statusCode).toBe(204);
    expect((await api.inject({ url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) })).statusCode).toBe(404);
    await receiver.down();
  });

  it.each([
    ['loopback on a port the policy does not admit', 'http://127.0.0.1/hooks'],
    ['loopback by name', 'http://localhost/hooks'],
    ['IPv6 loopback', 'http://[::1]:8080/hooks'],
    ['private', 'http://10.20.30.40:8080/hooks'],
    ['link-local (cloud metadata)', 'http://169.254.169.254/latest/meta-data'],
  ])('refuses a %s target with 400, from the policy’s decision alone', async (_label, url) => {
    const response = await api.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: as(TENANT_A),
      payload: { url, events: ['*'] },
    });

    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'webhook_target_not_allowed' });
    expect(response.body).not.toContain('resolved');
  });

  it.each([
    ['a URL with credentials', { url: 'http://user:pass@127.0.0.1:9999/hooks', events: ['*'] }],
    ['a scheme other than http(s)', { url: 'ftp://127.0.0.1:9999/hooks', events: ['*'] }],
    ['no events', { url: 'http://127.0.0.1:9999/hooks', events: [] }],
    ['an unknown event', { url: 'http://127.0.0.1:9999/hooks', events: ['message.exploded'] }],
    ['a malformed account id', { url: 'http://127.0.0.1:9999/hooks', events: ['*'], accountIds: ['nope'] }],
  ])('refuses %s with 400', async (_label, payload) => {
    const response = await api.inject({ method: 'POST', url: '/api/webhooks', headers: as(TENANT_A), payload });

    expect(response.statusCode).toBe(400);
  });

  it('refuses a refused target on update too, and keeps the webhook as it was', async () => {
    const created = await createWebhook({ url: 'http://127.0.0.1:9999/hooks', events: ['*'] });
    const response = await api.inject({
      method: 'PUT',
      url: `/api/webhooks/${created.id}`,
      headers: as(TENANT_A),
      payload: { url: 'http://169.254.169.254/' },
    });

    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'webhook_target_not_allowed' });
    const read = await api.inject({ url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) });
    expect(read.json()).toMatchObject({ url: 'http://127.0.0.1:9999/hooks' });
    await api.inject({ method: 'DELETE', url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) });
  });

  it("answers 404 for another tenant's webhook and its deliveries, and lists only the tenant's own", async () => {
    const created = await createWebhook({ url: 'http://127.0.0.1:9999/hooks', events: ['*'] });
    const other = as(TENANT_B);
    const deliveryId = randomUUID();

    for (const request of [
      { url: `/api/webhooks/${created.id}` },
      { method: 'PUT', url: `/api/webhooks/${created.id}`, payload: { active: false } },
      { method: 'POST', url: `/api/webhooks/${created.id}/rotate-secret` },
      { url: `/api/webhooks/${created.id}/deliveries` },
      { method: 'POST', url: `/api/webhooks/${created.id}/deliveries/${deliveryId}/redeliver` },
      { method: 'DELETE', url: `/api/webhooks/${created.id}` },
    ]) {
      const response = await api.inject({ ...request, headers: other });
      expect({ request, status: response.statusCode, code: response.json().code }).toEqual({
        request,
        status: 404,
        code: 'webhook_not_found',
      });
    }
    const list = await api.inject({ url: '/api/webhooks', headers: other });
    expect(list.json<{ items: WebhookDto[] }>().items).toEqual([]);
    const foreignAccount = await api.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: other,
      payload: { url: 'http://127.0.0.1:9999/hooks', events: ['*'], accountIds: [accountId] },
    });
    expect(foreignAccount.statusCode).toBe(404);
    expect((await api.inject({ url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) })).statusCode).toBe(200);
    await api.inject({ method: 'DELETE', url: `/api/webhooks/${created.id}`, headers: as(TENANT_A) });
  });

  it('delivers a draft created through the API as a signed draft.created event', async () => {
    const receiver = await WebhookReceiver.start();
    const webhook = await createWebhook({ url: receiver.url, events: ['draft.created'], accountIds: [accountId] });

    const draftId = await createDraft('Hello hooks');

    const [request] = await eventually(() => {
      if (receiver.accepted.length === 0) throw new Error('nothing delivered yet');
      return receiver.accepted;
    });
    if (!request) throw new Error('no request');
    const event = eventOf(request);
    expect(event).toMatchObject({ type: 'draft.created', accountId, tenantId: TENANT_A, data: { id: draftId } });
    expect(event.id).toMatch(new RegExp(`^${accountId}:\\d+$`));
    expect(request.headers['webhook-id']).toBe(event.id);
    expect(request.headers['content-type']).toBe('application/json');
    const signature = String(request.headers['webhook-signature']);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(webhook.secret, signature, request.body)).toBe(true);
    expect(verifySignature(webhook.secret, signature, request.body.replace('draft.created', 'draft.deleted'))).toBe(
      false,
    );

    const [delivery] = await eventually(async () => {
      const deliveries = await deliveriesOf(webhook.id);
      if (deliveries[0]?.status !== 'delivered') throw new Error('not recorded yet');
      return deliveries;
    });
    expect(delivery).toMatchObject({
      eventId: event.id,
      type: 'draft.created',
      entityId: draftId,
      status: 'delivered',
      attempts: 1,
      responseStatus: 200,
      error: null,
    });
    await api.inject({ method: 'DELETE', url: `/api/webhooks/${webhook.id}`, headers: as(TENANT_A) });
    await receiver.down();
  });

  it('retries while the receiver is down and then delivers every event once accepted, in change order, signed', async () => {
    const receiver = await WebhookReceiver.start();
    const webhook = await createWebhook({ url: receiver.url, events: ['draft.updated', 'draft.deleted'] });
    const drafts = [await createDraft('one'), await createDraft('two'), await createDraft('three')];
    await receiver.down();

    for (const id of drafts) {
      const response = await api.inject({ method: 'DELETE', url: `/api/compose/drafts/${id}`, headers: as(TENANT_A) });
      expect(response.statusCode).toBe(204);
    }
    await eventually(async () => {
      const [first] = (await deliveriesOf(webhook.id)).filter((delivery) => delivery.entityId === drafts[0]);
      if (!first || first.attempts < 2) throw new Error('not retried yet');
      expect(first).toMatchObject({ status: 'pending', responseStatus: null });
      expect(first.error).toMatch(/ECONNREFUSED/);
    });
    await receiver.up();

    const accepted = await eventually(() => {
      if (receiver.accepted.length < 3) throw new Error(`${receiver.accepted.length} of 3 delivered`);
      return receiver.accepted;
    });
    const events = accepted.map(eventOf);
    expect(events.map((event) => [event.type, event.data.id])).toEqual(drafts.map((id) => ['draft.deleted', id]));
    const sequence = events.map((event) => Number(event.id.split(':')[1]));
    expect([...sequence].sort((a, b) => a - b)).toEqual(sequence);
    for (const request of accepted)
      expect(verifySignature(webhook.secret, String(request.headers['webhook-signature']), request.body)).toBe(true);
    const deliveries = await deliveriesOf(webhook.id);
    expect(deliveries.every((delivery) => delivery.status === 'delivered')).toBe(true);
    await api.inject({ method: 'DELETE', url: `/api/webhooks/${webhook.id}`, headers: as(TENANT_A) });
    await receiver.down();
  });

  it('disables an endpoint that fails for the whole retry window, with the reason; activated again, a redelivery arrives', async () => {
    const receiver = await WebhookReceiver.start();
    receiver.status = 500;
    const webhook = await createWebhook({ url: receiver.url, events: ['draft.created'] });
    const draftId = await createDraft('doomed');

    const disabled = await eventually(async () => {
      const read = (await api.inject({ url: `/api/webhooks/${webhook.id}`, headers: as(TENANT_A) })).json<WebhookDto>();
      if (read.active) throw new Error('still active');
      return read;
    }, 30_000);
    expect(disabled.disabledReason).toMatch(/HTTP 500/);
    expect(disabled.disabledAt).not.toBeNull();
    const [failed] = await deliveriesOf(webhook.id);
    expect(failed).toMatchObject({ status: 'failed', entityId: draftId, responseStatus: 500, error: 'HTTP 500' });
    expect(failed?.attempts).toBeGreaterThan(2);
    const attemptsBefore = receiver.received.length;

    receiver.status = 200;
    const reactivated = await api.inject({
      method: 'PUT',
      url: `/api/webhooks/${webhook.id}`,
      headers: as(TENANT_A),
      payload: { active: true },
    });
    expect(reactivated.json()).toMatchObject({ active: true, disabledReason: null, disabledAt: null });
    const redelivered = await api.inject({
      method: 'POST',
      url: `/api/webhooks/${webhook.id}/deliveries/${failed?.id ?? ''}/redeliver`,
      headers: as(TENANT_A),
    });
    expect(redelivered.statusCode).toBe(202);
    expect(redelivered.json()).toMatchObject({ status: 'pending', attempts: 0, eventId: failed?.eventId });

    const accepted = await eventually(() => {
      if (receiver.accepted.length === 0) throw new Error('not redelivered yet');
      return receiver.accepted;
    });
    expect(accepted).toHaveLength(1);
    expect(receiver.received.length).toBeGreaterThan(attemptsBefore);
    expect(eventOf(accepted[0])).toMatchObject({ id: failed?.eventId, data: { id: draftId } });
    await eventually(async () => {
      const [delivery] = await deliveriesOf(webhook.id);
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, responseStatus: 200 });
    });
    await receiver.down();
  });

  it('sends a delivery whose job was lost from Redis by the next sweep, without the scheduler', async () => {
    const receiver = await WebhookReceiver.start();
    receiver.status = 503;
    const webhook = await createWebhook({ url: receiver.url, events: ['draft.created'] });
    const draftId = await createDraft('stranded');
    await eventually(() => {
      if (receiver.received.length === 0) throw new Error('not attempted yet');
    });
    const queue = new Queue(QueueName.Webhooks, {
      connection: { url: process.env.REDIS_URL },
      prefix: queuePrefix,
    });
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
    receiver.status = 200;

    const accepted = await eventually(() => {
      if (receiver.accepted.length === 0) throw new Error('not delivered yet');
      return receiver.accepted;
    }, 10_000);
    expect(eventOf(accepted[0])).toMatchObject({ type: 'draft.created', data: { id: draftId } });
    await eventually(async () => {
      const [delivery] = await deliveriesOf(webhook.id);
      expect(delivery).toMatchObject({ status: 'delivered', responseStatus: 200 });
    });
    await receiver.down();
  });
});
