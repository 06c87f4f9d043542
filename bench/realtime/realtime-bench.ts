/**
 * `npm run bench:realtime`: how soon mail delivered to a watched INBOX reaches a client, by each
 * path a client can follow: the API's message list (polled every 100 ms), a server-sent event of
 * GET /api/events, and a signed webhook to a receiver on loopback. 1,000 messages are delivered by
 * LMTP at a steady 50/s, first with one watched account, then again while one worker watches 200
 * accounts; between the two it reads the worker's memory and CPU per watched account at idle.
 * Runs the built API and worker (`npm run build`) against a private Dovecot/Postfix, a database of
 * its own (dropped afterwards) and a Redis key prefix of its own.
 *
 * Environment (all optional): BENCH_ADMIN_DATABASE_URL (superuser, default
 * postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL, BENCH_MESSAGES (default 1000),
 * BENCH_RATE (deliveries per second, default 50), BENCH_ACCOUNTS (watched in the second run,
 * default 200), BENCH_IDLE_SECONDS (idle measurement, default 30).
 */
import { execFile } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createTransport } from 'nodemailer';

import { addMailUsers, startMailStack, stopMailStack } from '../../test/infra/mail-stack.js';
import type { MailStack } from '../../test/infra/mail-stack.js';
import { ApiProcess } from '../../test/support/api-process.js';
import { freePort } from '../../test/support/app-process.js';
import { bearerFor } from '../../test/support/auth.js';
import { BackgroundAppProcess } from '../../test/support/background-app-process.js';
import { EventStreamClient } from '../../test/support/event-stream-client.js';
import { benchDatabaseUrl, runAsAdmin } from '../support/bench-database.js';

const run = promisify(execFile);
const env = process.env;
const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const MESSAGES = Number(env.BENCH_MESSAGES ?? 1000);
const RATE = Number(env.BENCH_RATE ?? 50);
const ACCOUNTS = Number(env.BENCH_ACCOUNTS ?? 200);
const IDLE_SECONDS = Number(env.BENCH_IDLE_SECONDS ?? 30);
const LIST_POLL_MS = 100;
/** After the last delivery, how long a path may still catch up before what it lacks counts as missed. */
const SETTLE_MS = 30_000;
const TENANT = 'bench-realtime';
const PASSWORD = 'bench password';
const APP_ROLE = 'mail_bench_realtime_app';
const RUN = randomBytes(3).toString('hex');

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Delays in ms of one path, by message index. */
type Arrivals = Map<number, number>;

interface PathFigures {
  path: string;
  p50: number;
  p99: number;
  max: number;
  missed: number;
}

function figures(path: string, delivered: Map<number, number>, arrivals: Arrivals): PathFigures {
  const delays = [...delivered].flatMap(([index, at]) => {
    const seen = arrivals.get(index);
    return seen === undefined ? [] : [Math.max(0, seen - at)];
  });
  delays.sort((a, b) => a - b);
  const at = (q: number): number => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? NaN;
  return { path, p50: at(0.5), p99: at(0.99), max: delays.at(-1) ?? NaN, missed: delivered.size - delays.length };
}

/** Reads the process's resident memory (MiB) and CPU seconds so far from /proc. */
function processUsage(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return { rssMiB: rssKiB / 1024, cpuSeconds: ticks / 100 };
}

class Bench {
  private readonly auth = { authorization: bearerFor(TENANT) };
  private readonly webhookSecrets: string[] = [];
  private readonly webhookArrivals = new Map<string, number>();
  private badSignatures = 0;

  constructor(
    private readonly stack: MailStack,
    private readonly api: ApiProcess,
    private readonly webhookUrl: string,
  ) {}

  /** Creates mail users and their accounts; the first ones log in to IMAP at creation, the rest skip it. */
  async createAccounts(count: number, label: string): Promise<{ id: string; email: string }[]> {
    const users = Array.from({ length: count }, (_, index) => ({
      email: `${label}-${index}@${this.stack.domain}`,
      password: PASSWORD,
    }));
    for (let start = 0; start < users.length; start += 100)
      await addMailUsers(this.stack, users.slice(start, start + 100));
    const accounts: { id: string; email: string }[] = [];
    for (const user of users) {
      const created = await this.api.inject({
        method: 'POST',
        url: '/api/accounts?verify=false',
        headers: this.auth,
        payload: {
          email: user.email,
          password: PASSWORD,
          imap: { host: this.stack.host, port: this.stack.imapPort, security: 'none' },
          smtp: { host: this.stack.host, port: this.stack.smtpPort, security: 'none' },
        },
      });
      if (created.statusCode !== 201) throw new Error(`account create: ${created.statusCode} ${created.body}`);
      accounts.push({ id: created.json<{ id: string }>().id, email: user.email });
    }
    return accounts;
  }

  async waitWatching(accountIds: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const accountId of accountIds) {
      for (;;) {
        const status = await this.api.inject({ url: `/api/sync/status/${accountId}`, headers: this.auth });
        const body = status.json<{ watch: { state: string } | null; lastSyncedAt: string | null }>();
        if (body.watch?.state === 'watching' && body.lastSyncedAt) break;
        if (Date.now() > deadline) throw new Error(`account ${accountId} not watched after ${timeoutMs} ms`);
        await sleep(200);
      }
    }
  }

  async subscribeWebhook(accountId: string): Promise<void> {
    const created = await this.api.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: this.auth,
      payload: { url: this.webhookUrl, events: ['message.created'], accountIds: [accountId], active: true },
    });
    if (created.statusCode !== 201) throw new Error(`webhook create: ${created.statusCode} ${created.body}`);
    this.webhookSecrets.push(created.json<{ secret: string }>().secret);
  }

  /** The receiver's side: checks the signature as the README tells receivers to, and notes the arrival. */
  receive(body: string, signature: string | undefined): void {
    const receivedAt = Date.now();
    const parts = new Map((signature ?? '').split(',').map((part) => part.split('=') as [string, string]));
    const expected = (secret: string): Buffer =>
      Buffer.from(
        createHmac('sha256', secret)
          .update(`${parts.get('t')}.${body}`)
          .digest('hex'),
      );
    const given = Buffer.from(parts.get('v1') ?? '');
    const valid = this.webhookSecrets.some((secret) => {
      const wanted = expected(secret);
      return wanted.length === given.length && timingSafeEqual(wanted, given);
    });
    if (!valid) this.badSignatures += 1;
    const event = JSON.parse(body) as { type: string; data: { id: string } };
    if (event.type === 'message.created' && !this.webhookArrivals.has(event.data.id))
      this.webhookArrivals.set(event.data.id, receivedAt);
  }

  /** Every message of the account's INBOX, page by page. */
  private async listAll(accountId: string, each: (id: string, subject: string | null) => void): Promise<void> {
    let cursor: string | null = null;
    do {
      const page = await this.api.inject({
        url: `/api/messages?accountId=${accountId}&folder=INBOX&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
        headers: this.auth,
      });
      const body = page.json<{ items: { id: string; subject: string | null }[]; nextCursor: string | null }>();
      for (const item of body.items) each(item.id, item.subject);
      cursor = body.nextCursor;
    } while (cursor);
  }

  /** Delivers MESSAGES at RATE into `email`'s INBOX and reports when each path saw each message. */
  async run(label: string, account: { id: string; email: string }): Promise<PathFigures[]> {
    this.webhookArrivals.clear();
    this.badSignatures = 0;
    const prefix = `rt-${label}-${RUN}`;
    const indexOf = (subject: string | null): number | null => {
      const match = subject ? new RegExp(`^${prefix} (\\d+)$`).exec(subject) : null;
      return match ? Number(match[1]) : null;
    };
    const listed: Arrivals = new Map();
    const idToIndex = new Map<string, number>();
    const events = await EventStreamClient.open(`${this.api.baseUrl}/api/events?accountId=${account.id}`, this.auth);
    const createdEvents = (): Map<string, number> => {
      const arrivals = new Map<string, number>();
      for (const event of events.events) {
        const change = JSON.parse(event.data) as { type: string; id: string; op: string };
        if (change.type === 'message' && change.op === 'created' && !arrivals.has(change.id))
          arrivals.set(change.id, event.receivedAt);
      }
      return arrivals;
    };

    let polling = true;
    const poll = (async () => {
      while (polling) {
        const page = await this.api.inject({
          url: `/api/messages?accountId=${account.id}&folder=INBOX&limit=100`,
          headers: this.auth,
        });
        const now = Date.now();
        for (const item of page.json<{ items: { id: string; subject: string | null }[] }>().items) {
          const index = indexOf(item.subject);
          if (index === null) continue;
          idToIndex.set(item.id, index);
          if (!listed.has(index)) listed.set(index, now);
        }
        await sleep(LIST_POLL_MS);
      }
    })();

    const delivered = new Map<number, number>();
    const transport = createTransport({
      host: this.stack.host,
      port: this.stack.lmtpPort,
      lmtp: true,
      ignoreTLS: true,
      pool: true,
      maxConnections: 4,
    });
    const started = Date.now();
    const sends: Promise<void>[] = [];
    for (let index = 0; index < MESSAGES; index += 1) {
      const due = started + (index * 1000) / RATE;
      if (due > Date.now()) await sleep(due - Date.now());
      sends.push(
        transport
          .sendMail({
            from: `sender@${this.stack.domain}`,
            to: account.email,
            subject: `${prefix} ${index}`,
            text: `message ${index} of the realtime benchmark`,
          })
          .then(() => {
            delivered.set(index, Date.now());
          }),
      );
    }
    await Promise.all(sends);
    transport.close();
    const deliveredFor = (Date.now() - started) / 1000;
    const settleBy = Date.now() + SETTLE_MS;
    while (Date.now() < settleBy) {
      if (listed.size >= MESSAGES && createdEvents().size >= MESSAGES && this.webhookArrivals.size >= MESSAGES) break;
      await sleep(200);
    }
    polling = false;
    await poll;
    await events.close();
    await this.listAll(account.id, (id, subject) => {
      const index = indexOf(subject);
      if (index !== null) idToIndex.set(id, index);
    });

    const byIndex = (arrivals: Map<string, number>): Arrivals => {
      const result: Arrivals = new Map();
      for (const [id, at] of arrivals) {
        const index = idToIndex.get(id);
        if (index !== undefined) result.set(index, at);
      }
      return result;
    };
    log(
      `  ${label}: ${MESSAGES} delivered by LMTP in ${deliveredFor.toFixed(1)} s (${(MESSAGES / deliveredFor).toFixed(1)}/s); webhook signatures failing verification: ${this.badSignatures}`,
    );
    return [
      figures('API list (polled every 100 ms)', delivered, listed),
      figures('SSE event (message created)', delivered, byIndex(createdEvents())),
      figures('webhook received', delivered, byIndex(this.webhookArrivals)),
    ];
  }
}

function printFigures(title: string, rows: PathFigures[]): void {
  log(`\n${title}: delay from the LMTP delivery being accepted`);
  log('  path                               p50 ms   p99 ms   max ms   missed');
  for (const row of rows)
    log(
      `  ${row.path.padEnd(34)} ${String(row.p50).padStart(6)} ${String(row.p99).padStart(8)} ${String(row.max).padStart(8)} ${String(row.missed).padStart(8)}`,
    );
}

async function main(): Promise<void> {
  const databaseName = `mail_bench_realtime_${RUN}`;
  const stateDir = `/tmp/bench-realtime-${RUN}`;
  await runAsAdmin(ADMIN_URL, `CREATE DATABASE ${databaseName}`);
  let stack: MailStack | null = null;
  const processes: { stop(): Promise<void> }[] = [];
  const receiver = createServer();
  try {
    const basePort = 30_000 + Math.floor(Math.random() * 1_000) * 8;
    stack = await startMailStack({ stateDir, basePort });
    Object.assign(process.env, {
      DATABASE_URL: benchDatabaseUrl(ADMIN_URL, databaseName, APP_ROLE),
      DATABASE_MIGRATION_URL: benchDatabaseUrl(ADMIN_URL, databaseName),
      REDIS_URL,
      REDIS_KEY_PREFIX: `bench-realtime-${RUN}`,
      WATCH_ENABLED: 'true',
      WATCH_MAX_CONNECTIONS: String(Math.max(500, ACCOUNTS)),
      SYNC_CONCURRENCY: '4',
    });
    await run(process.execPath, [join(ROOT, 'dist', 'libs', 'database', 'src', 'cli', 'migrate.js')], {
      cwd: ROOT,
      env: process.env,
    });
    const api = await ApiProcess.start();
    processes.push(api);
    let worker = await BackgroundAppProcess.start('worker');
    processes.push(worker);

    const receiverPort = await freePort();
    let bench: Bench | null = null;
    receiver.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const signature = request.headers['webhook-signature'];
        bench?.receive(Buffer.concat(chunks).toString('utf8'), Array.isArray(signature) ? signature[0] : signature);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));
    bench = new Bench(stack, api, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);

    log(
      `realtime bench: ${MESSAGES} messages at ${RATE}/s, then again with ${ACCOUNTS} accounts watched by one worker`,
    );
    const [watched] = await bench.createAccounts(1, `one-${RUN}`);
    if (!watched) throw new Error('no account');
    await bench.waitWatching([watched.id], 60_000);
    await bench.subscribeWebhook(watched.id);
    printFigures('One watched account', await bench.run('one', watched));

    // A fresh worker for the idle figures, so they do not include the heap the deliveries left.
    await worker.stop();
    processes.splice(processes.indexOf(worker), 1);
    worker = await BackgroundAppProcess.start('worker');
    processes.push(worker);
    await bench.waitWatching([watched.id], 60_000);
    await sleep(10_000);
    const oneUsage = processUsage(worker.pid);

    const others = await bench.createAccounts(ACCOUNTS - 1, `many-${RUN}`);
    const watchStarted = Date.now();
    await bench.waitWatching(
      others.map((account) => account.id),
      300_000,
    );
    log(
      `\n${ACCOUNTS} accounts watched ${((Date.now() - watchStarted) / 1000).toFixed(1)} s after the last was created`,
    );
    await sleep(5_000);
    const before = processUsage(worker.pid);
    await sleep(IDLE_SECONDS * 1000);
    const after = processUsage(worker.pid);
    const cpuShare = (after.cpuSeconds - before.cpuSeconds) / IDLE_SECONDS;
    log(
      `worker at idle: RSS ${after.rssMiB.toFixed(0)} MiB with ${ACCOUNTS} watched (${oneUsage.rssMiB.toFixed(0)} MiB with 1): ` +
        `${(((after.rssMiB - oneUsage.rssMiB) * 1024) / (ACCOUNTS - 1)).toFixed(0)} KiB per watched account; ` +
        `CPU ${(cpuShare * 100).toFixed(2)} % of a core over ${IDLE_SECONDS} s, ${((cpuShare * 1000) / ACCOUNTS).toFixed(3)} ms per second per watched account`,
    );
    printFigures(`${ACCOUNTS} watched accounts`, await bench.run('many', watched));
  } finally {
    receiver.close();
    for (const started of processes.reverse()) await started.stop().catch(() => undefined);
    if (stack) await stopMailStack(stack).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
    await runAsAdmin(ADMIN_URL, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
  }
}

await main();
