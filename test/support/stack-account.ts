import type { MailStack } from '../infra/mail-stack.js';
import type { ApiProcess } from './api-process.js';
import { eventually } from './test-config.js';
import { startWorkerProcess, stopProcess } from './worker-process.js';

/**
 * Adds, through the API, the account of a user of the test mail stack (plain IMAP and SMTP on
 * loopback), logging in to both as a client's request would; fails the test on anything but 201.
 */
export async function createStackAccount(
  api: ApiProcess,
  stack: MailStack,
  headers: Record<string, string>,
  email: string,
  password: string,
): Promise<string> {
  const created = await api.inject({
    method: 'POST',
    url: '/api/accounts',
    headers,
    payload: {
      email,
      password,
      imap: { host: stack.host, port: stack.imapPort, security: 'none' },
      smtp: { host: stack.host, port: stack.smtpPort, security: 'none' },
    },
  });
  if (created.statusCode !== 201) throw new Error(`account not created: ${created.statusCode} ${created.body}`);
  return created.json<{ id: string }>().id;
}

/** Requests a sync of the account and waits until that run has succeeded; a worker must be running. */
export async function syncAndWait(api: ApiProcess, headers: Record<string, string>, accountId: string): Promise<void> {
  const requested = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers });
  if (requested.statusCode !== 202) throw new Error(`sync not queued: ${requested.statusCode} ${requested.body}`);
  const runId = requested.json<{ syncRunId: string }>().syncRunId;
  await eventually(
    async () => {
      const status = await api.inject({ url: `/api/sync/status/${accountId}`, headers });
      expect(status.json<{ lastRun: { id: string; state: string } }>().lastRun).toMatchObject({
        id: runId,
        state: 'succeeded',
      });
    },
    90_000,
    300,
  );
}

/** Requests a sync of the account and runs a worker until the run has succeeded. */
export async function syncWithWorker(
  api: ApiProcess,
  headers: Record<string, string>,
  accountId: string,
): Promise<void> {
  const requested = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers });
  if (requested.statusCode !== 202) throw new Error(`sync not queued: ${requested.statusCode} ${requested.body}`);
  const worker = startWorkerProcess();
  try {
    await eventually(
      async () => {
        const status = await api.inject({ url: `/api/sync/status/${accountId}`, headers });
        expect(status.json<{ lastRun: { state: string } }>().lastRun.state).toBe('succeeded');
      },
      120_000,
      500,
    );
  } finally {
    await stopProcess(worker);
  }
}
