import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import { startWorkerProcess, stopProcess } from '../../../test/support/worker-process.js';
import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { createStackAccount } from '../../../test/support/stack-account.js';
import { bearerFor } from '../../../test/support/auth.js';
import { eventually } from '../../../test/support/test-config.js';
import type { SyncAcceptedDto } from '../src/modules/sync/dto/sync-response.dto.js';

/** Queues of this file's own, so its worker takes no job of another test file running beside it, nor the reverse. */
const QUEUES = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'test'}:sync-api` };

describe('/api/sync', () => {
  const tenant = `sync-api-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  const password = 'sync api password';
  let stack: MailStack;
  let api: ApiProcess;
  let accountId: string;
  let fixtures: string;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    const email = `sync-api-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUser(stack, email, password);
    fixtures = mkdtempSync(join(tmpdir(), 'sync-api-'));
    await seedMailbox(
      stack,
      email,
      'INBOX',
      writeCorpus(
        fixtures,
        generateCorpus({ count: 12, domain: stack.domain, tag: 'api', maxAttachmentBytes: 20_000 }),
      ),
    );
    api = await ApiProcess.start(QUEUES);
    accountId = await createStackAccount(api, stack, auth, email, password);
  });

  afterAll(async () => {
    await api?.stop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  it('queues a sync with 202 and returns the same job and run while it is pending', async () => {
    const first = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}?folder=INBOX`, headers: auth });
    const second = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });

    expect(first.statusCode).toBe(202);
    const accepted = first.json<SyncAcceptedDto>();
    expect(accepted).toMatchObject({
      jobId: expect.any(String) as unknown,
      syncRunId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      created: true,
    });
    expect(second.statusCode).toBe(202);
    expect(second.json<SyncAcceptedDto>()).toEqual({
      jobId: accepted.jobId,
      syncRunId: accepted.syncRunId,
      created: false,
    });

    const status = await api.inject({ url: `/api/sync/status/${accountId}`, headers: auth });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      accountId,
      state: 'queued',
      lastSyncedAt: null,
      lastError: null,
      folders: [],
      messageCount: 0,
      lastRun: { id: accepted.syncRunId, state: 'queued', trigger: 'manual', startedAt: null, finishedAt: null },
      watch: null,
    });
  });

  it('reports folders, counts and the finished run once the worker has synced', async () => {
    const worker = startWorkerProcess(QUEUES);
    try {
      const status = await eventually(
        async () => {
          const response = await api.inject({ url: `/api/sync/status/${accountId}`, headers: auth });
          const body = response.json<{ state: string; messageCount: number; lastRun: { state: string } }>();
          expect(body.lastRun.state).toBe('succeeded');
          return body;
        },
        120_000,
        500,
      );
      expect(status).toMatchObject({
        state: 'idle',
        lastError: null,
        messageCount: 12,
        failureCount: 0,
        nextSyncAfter: null,
      });
      const inbox = (status as unknown as { folders: Record<string, unknown>[] }).folders.find(
        (folder) => folder.path === 'INBOX',
      );
      expect(inbox).toMatchObject({
        role: 'inbox',
        total: 12,
        synced: 12,
        newestComplete: true,
        lastUid: '12',
        uidValidity: expect.stringMatching(/^\d+$/) as unknown,
      });
      expect(inbox).toMatchObject({ lastError: null, lastErrorAt: null, failureCount: 0, nextSyncAfter: null });
      expect(inbox?.highestModseq).toEqual(expect.stringMatching(/^\d+$/) as unknown);
      expect((status as unknown as { lastSyncedAt: string }).lastSyncedAt).toEqual(expect.any(String) as unknown);
      expect((status as unknown as { lastRun: Record<string, unknown> }).lastRun).toMatchObject({
        startedAt: expect.any(String) as unknown,
        finishedAt: expect.any(String) as unknown,
      });
    } finally {
      await stopProcess(worker);
    }
  }, 150_000);

  it('answers 404 with the JSON error body for an unknown account and for another tenant’s', async () => {
    const unknown = await api.inject({ method: 'POST', url: `/api/sync/imap/${randomUUID()}`, headers: auth });
    const foreign = await api.inject({
      url: `/api/sync/status/${accountId}`,
      headers: { authorization: bearerFor(`other-${tenant}`) },
    });

    for (const response of [unknown, foreign]) {
      expect(response.statusCode).toBe(404);
      expect(Object.keys(response.json()).sort()).toEqual(['code', 'error', 'message', 'requestId', 'statusCode']);
      expect(response.json()).toMatchObject({ code: 'account_not_found' });
    }
  });

  it.each([
    ['ENABLE_IMAP_SYNC', /IMAP sync is disabled/],
    ['ENABLE_BACKGROUND_JOBS', /Background jobs are disabled/],
  ])(
    'answers 503 with a clear body and queues nothing when %s=false',
    async (variable, message) => {
      const disabled = await ApiProcess.start({ [variable]: 'false' });
      try {
        const response = await disabled.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({
          statusCode: 503,
          error: 'Service Unavailable',
          code: 'service_unavailable',
          message: expect.stringMatching(message) as unknown,
          requestId: expect.any(String) as unknown,
        });
      } finally {
        await disabled.stop();
      }
    },
    60_000,
  );
});
