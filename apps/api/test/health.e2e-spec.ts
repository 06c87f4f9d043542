import { TcpProxy } from '../../../test/support/tcp-proxy.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { eventually } from '../../../test/support/test-config.js';

describe('GET /health', () => {
  const postgres = new TcpProxy('127.0.0.1', 5432);
  const redis = new TcpProxy('127.0.0.1', 6379);
  let app: ApiProcess;

  beforeAll(async () => {
    await Promise.all([postgres.start(), redis.start()]);
    const databaseUrl = new URL(process.env.DATABASE_URL ?? '');
    databaseUrl.host = `127.0.0.1:${postgres.port}`;
    app = await ApiProcess.start({
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: `redis://127.0.0.1:${redis.port}/0`,
    });
  });

  afterAll(async () => {
    await app.stop();
    await Promise.all([postgres.stop(), redis.stop()]);
  });

  const health = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    return { status: response.statusCode, body: response.json() };
  };

  it('answers 200 with the seed body while PostgreSQL and Redis are up, without a token', async () => {
    const { status, body } = await health();

    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'healthy',
      service: 'email_service',
      app: 'api',
      checks: { database: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it.each([
    ['database', postgres],
    ['redis', redis],
  ])('turns 503 naming %s while it is down and recovers without a restart', async (name, proxy) => {
    await proxy.cut();
    const down = await eventually(async () => {
      const result = await health();
      expect(result.status).toBe(503);
      return result;
    });
    expect(down.body).toMatchObject({
      status: 'unhealthy',
      service: 'email_service',
      checks: { [name]: { status: 'down' } },
    });

    await proxy.restore();
    const up = await eventually(async () => {
      const result = await health();
      expect(result.status).toBe(200);
      return result;
    });
    expect(up.body).toMatchObject({ status: 'healthy' });
  });
});
