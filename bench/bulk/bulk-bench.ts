/**
 * `npm run bench:bulk`: a 10,000-message folder, first synced by the worker, then marked read with
 * one bulk action (POST /api/messages/bulk, query `in:inbox`): timed from the request to the
 * record's `completed`, and to every message carrying \Seen on the IMAP server, with the number of
 * STORE transactions the server saw (distinct MODSEQ values among the messages). Then the folder
 * is exported as mbox (GET /api/accounts/{id}/folders/{folderId}/export): bytes, seconds and the
 * API's peak resident memory during the download. Runs the built API and worker (`npm run build`)
 * against a private Dovecot/Postfix, a database of its own (dropped afterwards) and a Redis key
 * prefix of its own.
 *
 * Environment (all optional): BENCH_ADMIN_DATABASE_URL (superuser, default
 * postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL, BENCH_MESSAGES (default 10000).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { addMailUser, seedMailbox, startMailStack, stopMailStack } from '../../test/infra/mail-stack.js';
import type { MailStack } from '../../test/infra/mail-stack.js';
import { ApiProcess } from '../../test/support/api-process.js';
import { bearerFor } from '../../test/support/auth.js';
import { BackgroundAppProcess } from '../../test/support/background-app-process.js';
import { generateCorpus, writeCorpus } from '../../test/support/mail-corpus.js';
import { imapAs } from '../../test/support/mailbox.js';
import { benchDatabaseUrl, runAsAdmin } from '../support/bench-database.js';
import { freePortRange } from '../support/free-ports.js';

const run = promisify(execFile);
const env = process.env;
const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const MESSAGES = Number(env.BENCH_MESSAGES ?? 10_000);
const TENANT = 'bench-bulk';
const PASSWORD = 'bench password';
const APP_ROLE = 'mail_bench_bulk_app';
const RUN = randomBytes(3).toString('hex');
const POLL_MS = 100;

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (fromMs: number): string => ((performance.now() - fromMs) / 1000).toFixed(2);
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** Resident memory (MiB) of a process and its descendants, from /proc. */
function treeRssMiB(pid: number): number {
  let kib = 0;
  const visit = (current: number): void => {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${current}/status`, 'utf8'))?.[1] ?? 0);
      const children = readFileSync(`/proc/${current}/task/${current}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) visit(Number(child));
    } catch {
      // The process ended between the listing and the read.
    }
  };
  visit(pid);
  return kib / 1024;
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

async function main(): Promise<void> {
  const databaseName = `mail_bench_bulk_${RUN}`;
  const stateDir = `/tmp/bench-bulk-${RUN}`;
  await runAsAdmin(ADMIN_URL, `CREATE DATABASE ${databaseName}`);
  let stack: MailStack | null = null;
  const processes: { stop(): Promise<void> }[] = [];
  try {
    stack = await startMailStack({ stateDir, basePort: await freePortRange(8) });
    const user = `bulk-${RUN}@${stack.domain}`;
    await addMailUser(stack, user, PASSWORD);
    const files = writeCorpus(
      join(stateDir, 'corpus'),
      generateCorpus({
        count: MESSAGES,
        domain: stack.domain,
        tag: 'bulk',
        maxAttachmentBytes: 80_000,
        typicalAttachmentBytes: 9_000,
        replyRatio: 0.3,
      }),
    );
    for (let index = 0; index < files.length; index += 2_000)
      await seedMailbox(stack, user, 'INBOX', files.slice(index, index + 2_000));

    Object.assign(process.env, {
      DATABASE_URL: benchDatabaseUrl(ADMIN_URL, databaseName, APP_ROLE),
      DATABASE_MIGRATION_URL: benchDatabaseUrl(ADMIN_URL, databaseName),
      REDIS_URL,
      REDIS_KEY_PREFIX: `bench-bulk-${RUN}`,
      WATCH_ENABLED: 'false',
    });
    await run(process.execPath, [join(ROOT, 'dist', 'libs', 'database', 'src', 'cli', 'migrate.js')], {
      cwd: ROOT,
      env: process.env,
    });
    const api = await ApiProcess.start();
    processes.push(api);
    const worker = await BackgroundAppProcess.start('worker');
    processes.push(worker);
    const auth = { authorization: bearerFor(TENANT) };

    const created = await api.inject({
      method: 'POST',
      url: '/api/accounts?verify=false',
      headers: auth,
      payload: {
        email: user,
        password: PASSWORD,
        imap: { host: stack.host, port: stack.imapPort, security: 'none' },
        smtp: { host: stack.host, port: stack.smtpPort, security: 'none' },
      },
    });
    if (created.statusCode !== 201) throw new Error(`account create: ${created.statusCode} ${created.body}`);
    const accountId = created.json<{ id: string }>().id;
    log(`bulk bench: ${MESSAGES} messages in INBOX; load average ${load()} (other work on the machine shows here)`);

    const syncStarted = performance.now();
    const requested = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
    const runId = requested.json<{ syncRunId: string }>().syncRunId;
    await until('first sync', 900_000, async () => {
      const status = await api.inject({ url: `/api/sync/status/${accountId}`, headers: auth });
      const lastRun = status.json<{ lastRun: { id: string; state: string } | null }>().lastRun;
      if (lastRun?.id === runId && lastRun.state === 'failed') throw new Error(`sync failed: ${status.body}`);
      return lastRun?.id === runId && lastRun.state === 'succeeded' ? true : undefined;
    });
    const inbox = async (): Promise<{ id: string; total: number; unread: number }> => {
      const folders = await api.inject({ url: `/api/accounts/${accountId}/folders`, headers: auth });
      const found = folders
        .json<{ items: { id: string; path: string; total: number; unread: number }[] }>()
        .items.find((folder) => folder.path === 'INBOX');
      if (!found) throw new Error('no INBOX');
      return found;
    };
    const synced = await inbox();
    log(
      `first sync: ${synced.total} messages, ${synced.unread} unread, ${seconds(syncStarted)} s (not the subject here)`,
    );
    if (synced.total !== MESSAGES) throw new Error(`expected ${MESSAGES} messages, found ${synced.total}`);

    // Bulk mark-read of the whole folder.
    const loadBefore = load();
    const bulkStarted = performance.now();
    const accepted = await api.inject({
      method: 'POST',
      url: '/api/messages/bulk',
      headers: auth,
      payload: { accountId, action: 'seen', query: 'in:inbox' },
    });
    if (accepted.statusCode !== 202) throw new Error(`bulk: ${accepted.statusCode} ${accepted.body}`);
    const acceptedMs = performance.now() - bulkStarted;
    const bulkId = accepted.json<{ id: string; total: number }>().id;
    // The folder's unread count is the server's STATUS, refreshed by a sync; the messages show the change at once.
    const stillUnread = await api.inject({
      url: `/api/messages?accountId=${accountId}&folder=INBOX&unread=true&limit=200`,
      headers: auth,
    });
    const unreadAtOnce = stillUnread.json<{ items: unknown[] }>().items.length;
    const done = await until('bulk completed', 600_000, async () => {
      const status = await api.inject({ url: `/api/messages/bulk/${bulkId}`, headers: auth });
      const body = status.json<{ state: string; done: number; failed: number; total: number }>();
      if (body.state === 'failed') throw new Error(`bulk failed: ${status.body}`);
      return body.state === 'completed' ? body : undefined;
    });
    const completedSeconds = seconds(bulkStarted);
    const client = await imapAs(stack.imapPort, user, PASSWORD);
    let storeTransactions = 0;
    try {
      const lock = await client.getMailboxLock('INBOX', { readOnly: true });
      try {
        const unseen = (await client.search({ seen: false }, { uid: true })) || [];
        if (unseen.length > 0) throw new Error(`${unseen.length} messages still unseen on the server`);
        const verifiedSeconds = seconds(bulkStarted);
        const modseqs = new Set<bigint | undefined>();
        for await (const message of client.fetch('1:*', { uid: true, flags: true })) modseqs.add(message.modseq);
        storeTransactions = modseqs.size;
        log(
          `bulk mark-read of ${done.total}: accepted in ${acceptedMs.toFixed(0)} ms (unread messages listed right after: ${unreadAtOnce}); ` +
            `completed ${completedSeconds} s after the request (done ${done.done}, failed ${done.failed}); ` +
            `every message \\Seen on the server by ${verifiedSeconds} s; ${storeTransactions} STORE transactions on the server; ` +
            `load average before ${loadBefore}, after ${load()}`,
        );
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
    }

    const resyncStarted = performance.now();
    const resync = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: auth });
    const resyncId = resync.json<{ syncRunId: string }>().syncRunId;
    await until('second sync', 600_000, async () => {
      const status = await api.inject({ url: `/api/sync/status/${accountId}`, headers: auth });
      const lastRun = status.json<{ lastRun: { id: string; state: string } | null }>().lastRun;
      return lastRun?.id === resyncId && lastRun.state === 'succeeded' ? true : undefined;
    });
    log(
      `sync after the bulk action: ${seconds(resyncStarted)} s, folder unread count from the server ${(await inbox()).unread}`,
    );

    // Export of the folder as mbox.
    const rssBefore = treeRssMiB(api.pid);
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, treeRssMiB(api.pid));
    }, 50);
    const exportStarted = performance.now();
    let bytes = 0;
    let messages = 0;
    try {
      const response = await fetch(`${api.baseUrl}/api/accounts/${accountId}/folders/${synced.id}/export`, {
        headers: auth,
      });
      if (response.status !== 200 || !response.body) throw new Error(`export: ${response.status}`);
      // "\nFrom " is 6 bytes: a match cannot lie wholly in the 5 bytes carried over, so none is counted twice.
      let carry = '\n';
      for await (const chunk of response.body) {
        const buffer = Buffer.from(chunk as Uint8Array);
        bytes += buffer.length;
        const text = carry + buffer.toString('latin1');
        messages += (text.match(/\nFrom /g) ?? []).length;
        carry = text.slice(-5);
      }
    } finally {
      clearInterval(sampler);
    }
    const exportSeconds = (performance.now() - exportStarted) / 1000;
    log(
      `export of INBOX: ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${messages} messages, ${exportSeconds.toFixed(2)} s ` +
        `(${(bytes / 1024 / 1024 / exportSeconds).toFixed(1)} MiB/s); API RSS ${rssBefore.toFixed(0)} MiB before, peak ${peakRss.toFixed(0)} MiB; load average ${load()}`,
    );
  } finally {
    for (const started of processes.reverse()) await started.stop().catch(() => undefined);
    if (stack) await stopMailStack(stack).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
    await runAsAdmin(ADMIN_URL, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
  }
}

await main();
