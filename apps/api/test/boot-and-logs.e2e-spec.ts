import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { eventually } from '../../../test/support/test-config.js';

const run = promisify(execFile);

describe('boot-time configuration', () => {
  it.each(['api', 'worker', 'scheduler'])(
    'the %s refuses to start in production without secrets, naming them on one line',
    async (app) => {
      const environment: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
      delete environment.JWT_SECRET;
      delete environment.JWT_PUBLIC_KEY;
      delete environment.ENCRYPTION_KEY;

      const attempt = run(process.execPath, [`dist/apps/${app}/src/main.js`], { env: environment, timeout: 20_000 });

      await expect(attempt).rejects.toMatchObject({ code: 78 });
      const { stderr } = (await attempt.catch((error: unknown) => error)) as { stderr: string };
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(
        /^Invalid configuration: JWT_SECRET is required when NODE_ENV=production.*ENCRYPTION_KEY is required/,
      );
    },
  );

  it('names a malformed variable and its value', async () => {
    const attempt = run(process.execPath, ['dist/apps/api/src/main.js'], {
      env: { ...process.env, PORT: 'eighty' },
      timeout: 20_000,
    });

    await expect(attempt).rejects.toMatchObject({
      code: 78,
      stderr: expect.stringContaining('PORT must not be greater than 65535') as unknown,
    });
  });
});

describe('logs', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'mail-logs-'));
  let api: ApiProcess;

  beforeAll(async () => {
    api = await ApiProcess.start({ LOG_DIR: logDir, LOG_LEVEL: 'INFO' });
  });

  afterAll(async () => {
    await api.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('writes one JSON access line per request with request_id, tenant_id and duration_ms, to stdout and access.log', async () => {
    const tenant = `logs-${randomUUID().slice(0, 8)}`;
    await api.inject({
      url: '/api/accounts',
      headers: { authorization: bearerFor(tenant), 'x-request-id': 'log-check-1' },
    });

    const line = await eventually(() => {
      const found = readFileSync(join(logDir, 'access.log'), 'utf8')
        .split('\n')
        .find((entry) => entry.includes('log-check-1'));
      if (!found) throw new Error('access line not written yet');
      return JSON.parse(found) as Record<string, unknown>;
    });

    expect(line).toMatchObject({
      request_id: 'log-check-1',
      tenant_id: tenant,
      kind: 'access',
      level: 'info',
      service: 'email_service',
    });
    expect(typeof line.duration_ms).toBe('number');
    expect(JSON.stringify(line)).not.toMatch(/authorization|Bearer/i);
    await eventually(() => expect(api.logs).toContain('"request_id":"log-check-1"'));
    await eventually(() => expect(readFileSync(join(logDir, 'service.log'), 'utf8')).toContain('log-check-1'));
  });

  it('keeps error.log to errors only', async () => {
    await api.inject({ url: '/api/accounts', headers: { authorization: bearerFor('logs-errors') } });

    const errors = readFileSync(join(logDir, 'error.log'), 'utf8').trim();
    for (const entry of errors ? errors.split('\n') : []) {
      expect(['error', 'fatal']).toContain((JSON.parse(entry) as { level: string }).level);
    }
  });
});
