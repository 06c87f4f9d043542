import type { MailStack } from '../infra/mail-stack.js';
import { ApiProcess } from '../support/api-process.js';
import type { ApiResponse } from '../support/api-process.js';
import { BackgroundAppProcess } from '../support/background-app-process.js';
import { PrivatePostgres } from '../support/private-postgres.js';
import { PrivateRedis } from '../support/private-redis.js';
import { ScriptedSmtpServer } from '../support/scripted-smtp-server.js';
import { eventually } from '../support/test-config.js';
import { reportFault } from './fault-report.js';
import {
  compose,
  createAccount,
  exactlySeeded,
  faultTenant,
  mailStack,
  newMailUsers,
  percentile,
  requestSync,
  seedInbox,
  settledSends,
  sleep,
  storedRowCount,
  syncedExactly,
} from './fault-services.js';
import type { FaultTenant, MailUser } from './fault-services.js';

const MESSAGES = 2_000;
const OUTAGE_MS = 20_000;
/** A request that takes longer than this while PostgreSQL is away counts as hanging. */
const FAST_MS = 6_000;
/** Once PostgreSQL accepts connections again, requests must succeed within this. */
const RECOVERY_BOUND_MS = 10_000;

interface Sample {
  route: string;
  startedAt: number;
  ms: number;
  status: number;
  body: string;
}

/**
 * A steady stream of reads, searches and sends against the API, one request of each kind in
 * flight at a time, recorded with its start, duration and answer.
 */
class LoadStream {
  readonly samples: Sample[] = [];
  readonly acceptedSends: string[] = [];
  private running = true;
  private loops: Promise<void>[] = [];
  private sent = 0;

  constructor(
    private readonly api: ApiProcess,
    private readonly tenant: FaultTenant,
    private readonly syncAccount: string,
    private readonly sendAccount: string,
  ) {}

  start(): void {
    this.loops = [
      this.loop('GET /api/messages', () =>
        this.api.inject({ url: `/api/messages?accountId=${this.syncAccount}&limit=20`, headers: this.tenant.headers }),
      ),
      this.loop('GET /api/sync/search', () =>
        this.api.inject({
          url: `/api/sync/search?accountId=${this.syncAccount}&query=${encodeURIComponent('report is:unread')}`,
          headers: this.tenant.headers,
        }),
      ),
      this.loop('POST /api/compose', async () => {
        this.sent += 1;
        const response = await compose(
          this.api,
          this.tenant,
          this.sendAccount,
          `pg-${this.sent}@remote.test`,
          `load ${this.sent}`,
        );
        if (response.statusCode === 202) this.acceptedSends.push(response.json<{ id: string }>().id);
        return response;
      }),
      this.loop('GET /health', () => this.api.inject({ url: '/health' })),
    ];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  between(from: number, to: number, route?: string): Sample[] {
    return this.samples.filter(
      (sample) => sample.startedAt >= from && sample.startedAt < to && (route === undefined || sample.route === route),
    );
  }

  /** How long after `from` the first request of every API route (health aside) succeeded again. */
  recoveredAfter(from: number): number | null {
    const routes = ['GET /api/messages', 'GET /api/sync/search', 'POST /api/compose'];
    const firsts = routes.map((route) =>
      this.samples.find((sample) => sample.route === route && sample.startedAt >= from && sample.status < 300),
    );
    if (firsts.some((sample) => sample === undefined)) return null;
    return Math.max(...firsts.map((sample) => (sample ? sample.startedAt + sample.ms - from : 0)));
  }

  private async loop(route: string, request: () => Promise<ApiResponse>): Promise<void> {
    while (this.running) {
      const startedAt = Date.now();
      try {
        const response = await request();
        this.samples.push({
          route,
          startedAt,
          ms: Date.now() - startedAt,
          status: response.statusCode,
          body: response.body,
        });
      } catch (error: unknown) {
        this.samples.push({ route, startedAt, ms: Date.now() - startedAt, status: 0, body: String(error) });
      }
      await sleep(100);
    }
  }
}

function describeOutage(samples: Sample[]): string {
  const statuses = new Map<number, number>();
  for (const sample of samples) statuses.set(sample.status, (statuses.get(sample.status) ?? 0) + 1);
  return `${samples.length} requests (${[...statuses].map(([status, count]) => `${count}×${status}`).join(', ')}), p99 ${percentile(
    samples.map((sample) => sample.ms),
    99,
  )} ms`;
}

/**
 * The apps' PostgreSQL (a private cluster, so the shared server is never touched) is restarted
 * (`pg_ctl restart -m fast`) and then stopped for 20 s, under a steady stream of API requests
 * and a running first sync. While it is away requests get a fast 503 JSON error and health names
 * the database; once it is back requests succeed within a bound, the sync ends with exactly the
 * seeded set and every accepted send goes out exactly once.
 */
describe('PostgreSQL restarted and unreachable under load', () => {
  const tenant = faultTenant('postgres-outage');
  let stack: MailStack;
  let postgres: PrivatePostgres;
  let redis: PrivateRedis;
  let smtp: ScriptedSmtpServer;
  let api: ApiProcess;
  let worker: BackgroundAppProcess;
  let syncUser: MailUser;
  let sender: MailUser;
  let seeded: string[];

  beforeAll(async () => {
    stack = mailStack();
    [syncUser, sender] = (await newMailUsers(stack, ['pg-sync', 'pg-send'])) as [MailUser, MailUser];
    [seeded, postgres, redis, smtp] = await Promise.all([
      seedInbox(stack, syncUser, MESSAGES, { maxAttachmentBytes: 20_000 }),
      PrivatePostgres.start(),
      PrivateRedis.start(),
      new ScriptedSmtpServer().start(),
    ]);
    await postgres.migrate();
    const env = {
      DATABASE_URL: postgres.appUrl,
      DATABASE_MIGRATION_URL: postgres.migrationUrl,
      REDIS_URL: redis.url,
      QUEUE_REDIS_URL: redis.url,
    };
    api = await ApiProcess.start(env);
    worker = await BackgroundAppProcess.start('worker', env);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await smtp?.stop();
    await redis?.stop();
    await postgres?.destroy();
  });

  it('answers 503 fast while it is away, recovers within a bound, and loses or doubles nothing', async () => {
    const syncAccount = await createAccount(api, tenant, syncUser, { imapPort: stack.imapPort, smtpPort: smtp.port });
    const sendAccount = await createAccount(api, tenant, sender, { imapPort: stack.imapPort, smtpPort: smtp.port });
    await requestSync(api, tenant, syncAccount);
    const load = new LoadStream(api, tenant, syncAccount, sendAccount);
    load.start();
    await eventually(
      async () => {
        if ((await storedRowCount(syncAccount, postgres.migrationUrl)) < MESSAGES / 5)
          throw new Error('sync has not started storing');
      },
      60_000,
      50,
    );

    // 1. A fast restart in the middle of the sync.
    const restartFrom = Date.now();
    await postgres.restart();
    const restartedAt = Date.now();
    await sleep(3_000);

    // 2. Unreachable for 20 s.
    await postgres.stop();
    const downFrom = Date.now();
    await sleep(OUTAGE_MS);
    const downTo = Date.now();
    await postgres.resume();
    const upAt = Date.now();
    await eventually(
      () => {
        if (load.recoveredAfter(upAt) === null) throw new Error('not recovered yet');
      },
      30_000,
      100,
    );
    await sleep(2_000);
    await load.stop();

    const outage = load.between(downFrom + 1_000, downTo).filter((sample) => sample.route !== 'GET /health');
    const health = load.between(downFrom + 1_000, downTo, 'GET /health');
    expect(outage.length).toBeGreaterThan(10);
    expect(outage.filter((sample) => sample.status !== 503)).toEqual([]);
    expect(outage.filter((sample) => sample.ms > FAST_MS)).toEqual([]);
    for (const sample of outage) {
      expect(JSON.parse(sample.body)).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/database/i) as unknown,
      });
      expect(sample.body).not.toMatch(/\bat .*\.js:\d+|ECONNREFUSED|QueryFailedError/);
    }
    expect(health.length).toBeGreaterThan(0);
    for (const sample of health) {
      expect(sample.status).toBe(503);
      expect(JSON.parse(sample.body)).toMatchObject({ status: 'unhealthy', checks: { database: { status: 'down' } } });
    }
    const restartRecovery = load.recoveredAfter(restartedAt);
    const outageRecovery = load.recoveredAfter(upAt);
    expect(restartRecovery).not.toBeNull();
    expect(outageRecovery).not.toBeNull();
    expect(outageRecovery ?? Infinity).toBeLessThan(RECOVERY_BOUND_MS);
    const restartWindow = load
      .between(restartFrom, restartedAt + 1_000)
      .filter((sample) => sample.route !== 'GET /health');
    // A failure carries what the API logged under its request id, so a 500 names its cause.
    const loggedFor = (sample: Sample): string[] => {
      const { requestId } = JSON.parse(sample.body) as { requestId?: string };
      return requestId ? api.logs.split('\n').filter((line) => line.includes(requestId)) : [];
    };
    expect(
      restartWindow
        .filter((sample) => sample.status !== 503 && sample.status >= 300)
        .map((sample) => ({ ...sample, logged: loggedFor(sample) })),
    ).toEqual([]);

    const counts = await syncedExactly(
      api,
      tenant,
      syncAccount,
      seeded,
      120_000,
      () => worker.logs,
      postgres.migrationUrl,
    );
    expect(counts).toEqual(exactlySeeded(MESSAGES));
    const records = await settledSends(api, tenant, load.acceptedSends, 90_000, () => worker.logs);
    expect(records.filter((record) => record.state !== 'sent')).toEqual([]);
    const deliveries = smtp.countsByMessageId();
    expect(records.map((record) => deliveries.get(record.messageId) ?? 0)).toEqual(records.map(() => 1));
    expect(smtp.received).toHaveLength(load.acceptedSends.length);
    expect(worker.alive).toBe(true);

    reportFault(
      'PostgreSQL restart (-m fast) and 20 s outage',
      `restart: ${describeOutage(restartWindow)}, all succeeding ${restartRecovery} ms after pg_ctl returned; ` +
        `outage: ${describeOutage(outage)}, health 503 naming database; first success of every route ${outageRecovery} ms after PostgreSQL was back; ` +
        `sync ${counts.distinctMessageIds}/${MESSAGES}, 0 duplicates; sends ${records.length}/${load.acceptedSends.length} sent, ${smtp.received.length} SMTP deliveries`,
    );
  }, 240_000);
});
