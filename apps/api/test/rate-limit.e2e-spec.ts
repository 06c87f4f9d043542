import { randomUUID } from 'node:crypto';

import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';

describe('rate limiting shared through Redis', () => {
  let first: ApiProcess | undefined;
  let second: ApiProcess | undefined;

  beforeAll(async () => {
    // Both processes share one Redis key space, as replicas behind a load balancer do.
    const limits = {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_REQUESTS_PER_MINUTE: '60',
      REDIS_KEY_PREFIX: `ratelimit-${randomUUID()}`,
    };
    first = await ApiProcess.start(limits);
    second = await ApiProcess.start(limits);
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  it('lets 60 requests a minute through across two API processes and answers the 61st with 429 and Retry-After', async () => {
    const headers = { authorization: bearerFor(`ratelimit-${randomUUID().slice(0, 8)}`) };
    for (let i = 0; i < 60; i += 1) {
      const response = await (i % 2 === 0 ? first : second)?.inject({ url: '/api/accounts', headers });
      expect({ request: i + 1, status: response?.statusCode }).toEqual({ request: i + 1, status: 200 });
    }

    const limited = await second!.inject({ url: '/api/accounts', headers });

    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
  });

  it('never limits health probes', async () => {
    const response = await first!.inject({ url: '/health' });

    expect(response.statusCode).toBe(200);
  });

  it('counts per client IP: X-Forwarded-For is ignored unless TRUST_PROXY is set', async () => {
    const limits = {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_REQUESTS_PER_MINUTE: '2',
      REDIS_KEY_PREFIX: `ratelimit-${randomUUID()}`,
    };
    const direct = await ApiProcess.start(limits);
    const proxied = await ApiProcess.start({ ...limits, TRUST_PROXY: 'true' });
    try {
      const statuses = async (api: ApiProcess): Promise<number[]> => {
        const results: number[] = [];
        for (const client of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
          results.push(
            (
              await api.inject({
                url: '/api/accounts',
                headers: { authorization: bearerFor('xff'), 'x-forwarded-for': client },
              })
            ).statusCode,
          );
        }
        return results;
      };

      expect(await statuses(direct)).toEqual([200, 200, 429]);
      expect(await statuses(proxied)).toEqual([200, 200, 200]);
    } finally {
      await Promise.all([direct.stop(), proxied.stop()]);
    }
  });
});
