import { randomUUID } from 'node:crypto';
import { request } from 'node:http';

import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { metricFamilies, parsePrometheusText, sampleValue } from '../../../test/support/prometheus-text.js';

const API_PROCESSES = 3;

interface Answer {
  statusCode: number;
  contentType: string;
  body: string;
}

/**
 * Every call on a connection of its own: the cluster hands out connections, not requests, in
 * turn, so a kept-alive connection would put every request on one process.
 */
function get(api: ApiProcess, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = request(
      `${api.baseUrl}${path}`,
      { agent: false, headers: { ...headers, connection: 'close' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            statusCode: response.statusCode ?? 0,
            contentType: response.headers['content-type'] ?? '',
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    call.on('error', reject);
    call.end();
  });
}

describe('GET /metrics over an API cluster', () => {
  const auth = { authorization: bearerFor(`metrics-${randomUUID().slice(0, 8)}`) };
  let api: ApiProcess;

  beforeAll(async () => {
    api = await ApiProcess.start({ API_WORKERS: String(API_PROCESSES) });
  }, 90_000);

  afterAll(async () => {
    await api?.stop();
  });

  const scrape = async (): Promise<string> => {
    const response = await get(api, '/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body;
  };

  it('answers without a token with every family the API measures', async () => {
    const families = metricFamilies(await scrape());

    expect(families).toEqual(
      expect.arrayContaining([
        'request_duration_seconds',
        'requests_total',
        'database_connection_pool_size',
        'redis_cache_hits_total',
        'redis_cache_misses_total',
        'queue_depth',
        'process_cpu_seconds_total',
      ]),
    );
  });

  it('counts the requests served by every API process, by route template, in each scrape', async () => {
    const listed = 3 * API_PROCESSES;
    for (let i = 0; i < listed; i += 1) expect((await get(api, '/api/accounts', auth)).statusCode).toBe(200);
    for (let i = 0; i < API_PROCESSES; i += 1)
      expect((await get(api, `/api/accounts/${randomUUID()}`, auth)).statusCode).toBe(404);
    expect((await get(api, '/api/accounts')).statusCode).toBe(401);
    const probe = `/no-such-route-${randomUUID()}`;
    expect((await get(api, probe)).statusCode).toBe(404);

    // Each scrape lands on whichever process the cluster picks; all must report the same totals.
    // Reporting only its own process, one would see about a third of them.
    const scrapedBefore = sampleValue(parsePrometheusText(await scrape()), 'requests_total', {
      method: 'GET',
      route: '/metrics',
      status_code: '200',
    });
    for (let scrapeNumber = 0; scrapeNumber < API_PROCESSES * 2; scrapeNumber += 1) {
      const text = await scrape();
      const samples = parsePrometheusText(text);
      expect(
        sampleValue(samples, 'requests_total', { method: 'GET', route: '/api/accounts', status_code: '200' }),
      ).toBe(listed);
      expect(
        sampleValue(samples, 'request_duration_seconds_count', {
          method: 'GET',
          route: '/api/accounts',
          status_code: '200',
        }),
      ).toBe(listed);
      expect(
        sampleValue(samples, 'request_duration_seconds_bucket', {
          method: 'GET',
          route: '/api/accounts',
          status_code: '200',
          le: '+Inf',
        }),
      ).toBe(listed);
      expect(
        sampleValue(samples, 'requests_total', { method: 'GET', route: '/api/accounts/:id', status_code: '404' }),
      ).toBe(API_PROCESSES);
      expect(
        sampleValue(samples, 'requests_total', { method: 'GET', route: '/api/accounts', status_code: '401' }),
      ).toBe(1);
      expect(sampleValue(samples, 'requests_total', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
      // A scrape is counted once it has been answered, so each sees the ones before it.
      expect(sampleValue(samples, 'requests_total', { method: 'GET', route: '/metrics', status_code: '200' })).toBe(
        scrapedBefore + 1 + scrapeNumber,
      );
      expect(text).not.toContain(probe);
    }
  });

  it('reports the connection pools of all processes and the queue depth once', async () => {
    const samples = parsePrometheusText(await scrape());

    const total = sampleValue(samples, 'database_connection_pool_size', { state: 'total' });
    expect(total).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'database_connection_pool_size', { state: 'idle' })).toBeLessThanOrEqual(total);
    expect(sampleValue(samples, 'database_connection_pool_size', { state: 'waiting' })).toBe(0);
    for (const queue of ['mail-sync', 'mail-parse', 'mail-send', 'mail-drafts', 'mail-actions']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
        expect(sampleValue(samples, 'queue_depth', { queue, state })).toBeGreaterThanOrEqual(0);
      }
    }
    expect(sampleValue(samples, 'redis_cache_hits_total', { store: 'sync_dedupe' })).toBe(0);
  });
});
