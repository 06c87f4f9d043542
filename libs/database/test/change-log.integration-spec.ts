import { randomUUID } from 'node:crypto';

import pg from 'pg';

const WRITERS = 8;
const TRANSACTIONS_PER_WRITER = 40;

interface LoggedChange {
  seq: number;
  type: string;
  entityId: string;
  op: string;
}

/** What a writer's committed transactions changed, to compare with what the log says. */
interface Committed {
  created: Set<string>;
  updated: string[];
  deleted: Set<string>;
  rolledBack: Set<string>;
}

async function connect(url: string | undefined): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('change log under concurrent writers', () => {
  const tenantId = `change-log-${randomUUID().slice(0, 8)}`;
  const accountId = randomUUID();
  const folderId = randomUUID();

  beforeAll(async () => {
    const owner = await connect(process.env.DATABASE_MIGRATION_URL);
    try {
      await owner.query(
        `INSERT INTO mail_accounts (id, tenant_id, email, imap_host, imap_port, imap_security, imap_username, smtp_host, smtp_port, smtp_security, smtp_username, encrypted_password)
         VALUES ($1, $2, 'log@example.test', 'h', 993, 'tls', 'u', 'h', 465, 'tls', 'u', 'x')`,
        [accountId, tenantId],
      );
      await owner.query(
        `INSERT INTO mail_folders (id, tenant_id, account_id, path, name) VALUES ($1, $2, $3, 'INBOX', 'INBOX')`,
        [folderId, tenantId, accountId],
      );
    } finally {
      await owner.end();
    }
  });

  /**
   * One writer: transactions that store, flag or delete its own messages, each holding its
   * transaction open for a random while so commits land out of the order they started (and of
   * the order their statements ran), and one in ten rolled back.
   */
  async function write(writer: number): Promise<Committed> {
    const client = await connect(process.env.DATABASE_URL);
    const committed: Committed = { created: new Set(), updated: [], deleted: new Set(), rolledBack: new Set() };
    const live: string[] = [];
    let nextUid = writer * 100_000;
    try {
      for (let round = 0; round < TRANSACTIONS_PER_WRITER; round += 1) {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
        const action = live.length === 0 ? 0 : round % 3;
        let touched: string[];
        if (action === 0) {
          const ids = Array.from({ length: 1 + (round % 4) }, () => randomUUID());
          for (const id of ids) {
            nextUid += 1;
            await client.query(
              `INSERT INTO mail_messages (id, tenant_id, account_id, folder_id, uid_validity, uid, received_at) VALUES ($1, $2, $3, $4, 1, $5, now())`,
              [id, tenantId, accountId, folderId, nextUid],
            );
          }
          touched = ids;
        } else if (action === 1) {
          touched = [live[round % live.length]];
          await client.query(`UPDATE mail_messages SET flags = ARRAY['\\Seen', $2] WHERE id = $1`, [
            touched[0],
            `$round${round}`,
          ]);
        } else {
          touched = [live[round % live.length]];
          await client.query(`DELETE FROM mail_messages WHERE id = $1`, touched);
        }
        await sleep(Math.random() * 15);
        if (round % 10 === 9) {
          await client.query('ROLLBACK');
          if (action === 0) touched.forEach((id) => committed.rolledBack.add(id));
          continue;
        }
        await client.query('COMMIT');
        if (action === 0) {
          touched.forEach((id) => committed.created.add(id));
          live.push(...touched);
        } else if (action === 1) {
          committed.updated.push(touched[0]);
        } else {
          committed.deleted.add(touched[0]);
          live.splice(live.indexOf(touched[0]), 1);
        }
      }
      return committed;
    } finally {
      await client.end();
    }
  }

  it('lets a reader polling from its cursor see every committed change exactly once, in sequence', async () => {
    const reader = await connect(process.env.DATABASE_URL);
    const read = async (since: number): Promise<LoggedChange[]> => {
      await reader.query('BEGIN');
      await reader.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
      const { rows } = await reader.query<{ seq: string; type: string; entity_id: string; op: string }>(
        `SELECT seq, type, entity_id, op FROM change_log WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT 25`,
        [accountId, since],
      );
      await reader.query('COMMIT');
      return rows.map((row) => ({ seq: Number(row.seq), type: row.type, entityId: row.entity_id, op: row.op }));
    };
    try {
      const seen: LoggedChange[] = [];
      let cursor = 0;
      let writing = true;
      const writers = Promise.all(Array.from({ length: WRITERS }, (_, writer) => write(writer))).finally(() => {
        writing = false;
      });
      let polls = 0;
      while (writing) {
        const batch = await read(cursor);
        seen.push(...batch);
        cursor = batch.at(-1)?.seq ?? cursor;
        polls += 1;
      }
      const results = await writers;
      for (let batch = await read(cursor); batch.length > 0; batch = await read(cursor)) {
        seen.push(...batch);
        cursor = batch.at(-1)!.seq;
      }

      expect(polls).toBeGreaterThan(WRITERS);
      // Consecutive from 1: nothing skipped by the reader, nothing reported twice.
      expect(seen.map((change) => change.seq)).toEqual(seen.map((_, index) => index + 1));
      const messages = seen.filter((change) => change.type === 'message');
      const created = new Set(messages.filter((change) => change.op === 'created').map((change) => change.entityId));
      const deleted = new Set(messages.filter((change) => change.op === 'deleted').map((change) => change.entityId));
      const updated = messages.filter((change) => change.op === 'updated').map((change) => change.entityId);
      expect(created).toEqual(new Set(results.flatMap((result) => [...result.created])));
      expect(deleted).toEqual(new Set(results.flatMap((result) => [...result.deleted])));
      expect(updated.sort()).toEqual(results.flatMap((result) => result.updated).sort());
      const rolledBack = results.flatMap((result) => [...result.rolledBack]);
      expect(rolledBack.length).toBeGreaterThan(0);
      expect(seen.filter((change) => rolledBack.includes(change.entityId))).toEqual([]);
    } finally {
      await reader.end();
    }
  }, 120_000);
});
