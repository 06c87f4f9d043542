import { randomUUID } from 'node:crypto';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { BackgroundAppProcess } from '../../../test/support/background-app-process.js';
import { metricFamilies, parsePrometheusText, sampleValue } from '../../../test/support/prometheus-text.js';
import type { Sample } from '../../../test/support/prometheus-text.js';
import { createStackAccount } from '../../../test/support/stack-account.js';
import { eventually } from '../../../test/support/test-config.js';

/** Queues of this file's own, so the counts below are this worker's jobs and nobody else's. */
const QUEUES = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:metrics-${randomUUID().slice(0, 8)}` };
const PASSWORD = 'worker metrics password';

describe('worker and scheduler /metrics', () => {
  const tenant = `metrics-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  let stack: MailStack;
  let api: ApiProcess;
  let worker: BackgroundAppProcess;
  let accountId: string;
  let recipient: string;

  const scrape = async (app: BackgroundAppProcess): Promise<{ text: string; samples: Sample[] }> => {
    const response = await app.get('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    return { text: response.body, samples: parsePrometheusText(response.body) };
  };

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    const sender = `metrics-${randomUUID().slice(0, 8)}@${stack.domain}`;
    recipient = `metrics-to-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUsers(stack, [
      { email: sender, password: PASSWORD },
      { email: recipient, password: PASSWORD },
    ]);
    [api, worker] = await Promise.all([ApiProcess.start(QUEUES), BackgroundAppProcess.start('worker', QUEUES)]);
    accountId = await createStackAccount(api, stack, auth, sender, PASSWORD);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
  });

  it('starts with every worker family and nothing counted', async () => {
    const { text, samples } = await scrape(worker);

    expect(metricFamilies(text)).toEqual(
      expect.arrayContaining([
        'emails_processed_total',
        'sync_duration_seconds',
        'database_connection_pool_size',
        'redis_cache_hits_total',
        'redis_cache_misses_total',
        'process_cpu_seconds_total',
      ]),
    );
    expect(metricFamilies(text)).not.toContain('requests_total');
    expect(sampleValue(samples, 'emails_processed_total', { outcome: 'sent' })).toBe(0);
    expect(sampleValue(samples, 'redis_cache_misses_total', { store: 'sync_lease' })).toBe(0);
  });

  it('times a sync the worker ran and counts its lease lookup', async () => {
    const queued = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
    expect(queued.statusCode).toBe(202);
    await eventually(
      async () => {
        const status = (await api.inject({ url: `/api/sync/status/${accountId}`, headers: auth })).json<{
          lastRun: { state: string };
        }>();
        expect(status.lastRun.state).toBe('succeeded');
      },
      60_000,
      250,
    );

    const { samples } = await eventually(async () => {
      const scraped = await scrape(worker);
      expect(sampleValue(scraped.samples, 'sync_duration_seconds_count', { outcome: 'succeeded' })).toBe(1);
      return scraped;
    });
    expect(sampleValue(samples, 'sync_duration_seconds_sum', { outcome: 'succeeded' })).toBeGreaterThan(0);
    expect(sampleValue(samples, 'sync_duration_seconds_bucket', { outcome: 'succeeded', le: '+Inf' })).toBe(1);
    expect(sampleValue(samples, 'redis_cache_misses_total', { store: 'sync_lease' })).toBe(1);
    expect(sampleValue(samples, 'redis_cache_hits_total', { store: 'sync_lease' })).toBe(0);
    expect(sampleValue(samples, 'database_connection_pool_size', { state: 'total' })).toBeGreaterThanOrEqual(1);

    const apiSamples = parsePrometheusText((await api.inject({ url: '/metrics' })).body);
    expect(sampleValue(apiSamples, 'redis_cache_misses_total', { store: 'sync_dedupe' })).toBe(1);
    expect(
      sampleValue(apiSamples, 'requests_total', {
        method: 'POST',
        route: '/api/sync/imap/:accountId',
        status_code: '202',
      }),
    ).toBe(1);
  }, 90_000);

  it('counts a message the worker sent', async () => {
    const composed = await api.inject({
      method: 'POST',
      url: '/api/compose',
      headers: auth,
      payload: { accountId, to: [recipient], subject: 'Counted', text: 'One message.' },
    });
    expect(composed.statusCode).toBe(202);
    const { id } = composed.json<{ id: string }>();
    await eventually(async () => {
      const record = (await api.inject({ url: `/api/compose/outbox/${id}`, headers: auth })).json<{ state: string }>();
      expect(record.state).toBe('sent');
    }, 30_000);

    const { samples } = await eventually(async () => {
      const scraped = await scrape(worker);
      expect(sampleValue(scraped.samples, 'emails_processed_total', { outcome: 'sent' })).toBe(1);
      return scraped;
    });
    expect(sampleValue(samples, 'emails_processed_total', { outcome: 'failed' })).toBe(0);
    // The record is sent before its job is moved to completed.
    await eventually(async () => {
      const apiSamples = parsePrometheusText((await api.inject({ url: '/metrics' })).body);
      expect(sampleValue(apiSamples, 'queue_depth', { queue: 'mail-send', state: 'completed' })).toBe(1);
    });
  }, 60_000);

  it('serves the scheduler’s metrics on its health listener', async () => {
    const scheduler = await BackgroundAppProcess.start('scheduler', { ...QUEUES, SYNC_CRON: '0 0 1 1 *' });
    try {
      const { text, samples } = await scrape(scheduler);
      expect(metricFamilies(text)).toEqual(
        expect.arrayContaining([
          'database_connection_pool_size',
          'redis_cache_hits_total',
          'process_cpu_seconds_total',
        ]),
      );
      expect(sampleValue(samples, 'redis_cache_hits_total', { store: 'sync_tick' })).toBe(0);
      expect((await scheduler.get('/health')).statusCode).toBe(200);
      expect((await scheduler.get('/nothing')).statusCode).toBe(404);
    } finally {
      await scheduler.stop();
    }
  });
});
