import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MessageReadRepository } from '@app/database';
import type { MessageListCriteria } from '@app/database';
import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { generateCorpus, writeCorpus } from '../../../test/support/mail-corpus.js';
import { PrivateDatabase } from '../../../test/support/private-database.js';
import { SyncHarness } from '../../../test/support/sync-harness.js';

const TENANT = `sync-statistics-${process.pid}`;
const PASSWORD = 'secret-statistics';
const INBOX_MESSAGES = 3_000;
const ARCHIVE_MESSAGES = 500;
/** No attachments: what matters here is the number of rows, and large sources only cost time. */
const TEXT_KINDS = ['plain', 'alternative', 'html'] as const;
const SYNC_TABLES = ['mail_messages', 'mail_attachments', 'mail_message_references', 'change_log'];

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/**
 * A first sync loads thousands of rows into tables whose statistics still describe them empty.
 * With autovacuum off for them (in a database of this file's own), only the worker's own ANALYZE
 * can give the planner the numbers that make it walk the folder's index for the newest page.
 */
describe('IMAP sync engine: statistics after a bulk load', () => {
  let stack: MailStack;
  let database: PrivateDatabase;
  let harness: SyncHarness;
  let fixtures: string;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    fixtures = mkdtempSync(join(tmpdir(), 'sync-statistics-'));
    database = await PrivateDatabase.create('statistics');
    for (const table of SYNC_TABLES) await database.query(`ALTER TABLE "${table}" SET (autovacuum_enabled = false)`);
    harness = await SyncHarness.start({ DATABASE_URL: database.url, DATABASE_MIGRATION_URL: database.migrationUrl });
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
    await database?.drop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  /** The statement the read repository sends for `criteria`, as the API would run it, and its plan. */
  async function planOf(accountId: string, criteria: MessageListCriteria): Promise<PlanNode[]> {
    const driver = harness.app.get(DataSource).driver;
    const escape = jest.spyOn(driver, 'escapeQueryWithParameters');
    let statement: [string, unknown[]] | undefined;
    try {
      await harness.asTenant(TENANT, () => harness.app.get(MessageReadRepository).list({ accountId, ...criteria }, 20));
      const result = escape.mock.results.find(
        (call) =>
          call.type === 'return' && String((call.value as [string, unknown[]])[0]).includes('FROM mail_messages m'),
      );
      statement = result?.value as [string, unknown[]] | undefined;
    } finally {
      escape.mockRestore();
    }
    if (!statement) throw new Error('the list statement was not seen');
    const [sql, values] = statement;
    const [row] = await harness.query(TENANT, (manager) =>
      manager.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(`EXPLAIN (FORMAT JSON) ${sql}`, values),
    );
    const plan = row?.['QUERY PLAN'][0]?.Plan;
    if (!plan) throw new Error('no plan');
    return nodesOf(plan);
  }

  it('ANALYZEs what a first sync of thousands of messages filled, so the newest page and a subject search use their indexes', async () => {
    const user = `statistics-${process.pid}@${stack.domain}`;
    await addMailUser(stack, user, PASSWORD);
    const inbox = generateCorpus({
      count: INBOX_MESSAGES,
      domain: stack.domain,
      tag: 'stats-inbox',
      seed: 3,
      kinds: TEXT_KINDS,
    });
    const archive = generateCorpus({
      count: ARCHIVE_MESSAGES,
      domain: stack.domain,
      tag: 'stats-archive',
      seed: 4,
      kinds: TEXT_KINDS,
    });
    const rare = [1, 2, 3].map((index) => {
      const file = join(fixtures, `rare-${index}.eml`);
      writeFileSync(
        file,
        [
          `From: Alice <alice@${stack.domain}>`,
          `To: Bob <bob@${stack.domain}>`,
          `Subject: Zanzibar shipment ${index}`,
          `Date: Mon, 2 Mar 2026 10:0${index}:00 +0000`,
          `Message-ID: <rare-${index}@statistics.test>`,
          '',
          'Body.',
          '',
        ].join('\r\n'),
      );
      return file;
    });
    await seedMailbox(stack, user, 'INBOX', [...writeCorpus(join(fixtures, 'inbox'), inbox), ...rare]);
    await seedMailbox(stack, user, 'Archive', writeCorpus(join(fixtures, 'archive'), archive));
    const accountId = (await harness.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
    const analyzed = async (): Promise<Record<string, boolean>> =>
      Object.fromEntries(
        (
          await database.query<{ relname: string; analyzed: boolean }>(
            `SELECT "relname", ("last_analyze" IS NOT NULL OR "last_autoanalyze" IS NOT NULL) AS "analyzed"
             FROM pg_stat_user_tables WHERE "relname" = ANY($1)`,
            [SYNC_TABLES],
          )
        ).map((row) => [row.relname, row.analyzed]),
      );
    expect(await analyzed()).toEqual(Object.fromEntries(SYNC_TABLES.map((table) => [table, false])));

    expect(await harness.sync(TENANT, accountId)).toMatchObject({
      state: 'succeeded',
      stats: { messagesAdded: INBOX_MESSAGES + ARCHIVE_MESSAGES + rare.length },
    });

    expect(await analyzed()).toEqual(Object.fromEntries(SYNC_TABLES.map((table) => [table, true])));
    const newestPage = await planOf(accountId, { folder: 'INBOX' });
    // The folder lookup sorts its candidate folders; the messages must come off the index in order.
    const sortedMessages = newestPage
      .filter((node) => node['Node Type'] === 'Sort')
      .flatMap(nodesOf)
      .filter((node) => node['Relation Name'] === 'mail_messages');
    expect(sortedMessages).toEqual([]);
    expect(newestPage).toContainEqual(
      expect.objectContaining({ 'Node Type': 'Index Scan', 'Index Name': 'idx_mail_messages_folder_received' }),
    );
    const search = await planOf(accountId, { filter: { kind: 'subject', value: 'zanzibar', phrase: false } });
    expect(search).toContainEqual(expect.objectContaining({ 'Index Name': 'idx_mail_messages_search' }));
    expect(search).not.toContainEqual(
      expect.objectContaining({ 'Node Type': 'Seq Scan', 'Relation Name': 'mail_messages' }),
    );
  }, 240_000);
});
