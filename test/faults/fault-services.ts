import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generateCorpus, writeCorpus } from '../support/mail-corpus.js';
import { addMailUsers, readMailStack, seedMailbox } from '../infra/mail-stack.js';
import type { MailStack } from '../infra/mail-stack.js';
import type { SendRecordDto } from '../../apps/api/src/modules/sends/dto/send-record.dto.js';
import type { SyncStatusDto } from '../../apps/api/src/modules/sync/dto/sync-response.dto.js';
import type { ApiProcess, ApiResponse } from '../support/api-process.js';
import { bearerFor } from '../support/auth.js';
import { ownerQuery } from '../support/messages-fixture.js';
import { eventually } from '../support/test-config.js';

/** A tenant of the case's own, so cases running side by side never see each other's rows. */
export interface FaultTenant {
  id: string;
  headers: Record<string, string>;
}

export function faultTenant(faultCase: string): FaultTenant {
  const id = `fault-${faultCase}-${randomUUID().slice(0, 8)}`;
  return { id, headers: { authorization: bearerFor(id) } };
}

export interface MailUser {
  email: string;
  password: string;
}

export function mailStack(): MailStack {
  return readMailStack(process.env.MAIL_STACK_DIR ?? '');
}

export async function newMailUsers(stack: MailStack, labels: string[]): Promise<MailUser[]> {
  const users = labels.map((label) => ({
    email: `${label}-${randomUUID().slice(0, 8)}@${stack.domain}`,
    password: `${label}-secret`,
  }));
  await addMailUsers(stack, users);
  return users;
}

/**
 * Writes `count` generated messages straight into the user's INBOX (Maildir seeding, ~1 s per
 * 2,000) and returns their Message-IDs: the exact set a complete sync must store.
 */
export async function seedInbox(
  stack: MailStack,
  user: MailUser,
  count: number,
  options: { maxAttachmentBytes?: number } = {},
): Promise<string[]> {
  const directory = mkdtempSync(join(tmpdir(), 'fault-corpus-'));
  try {
    const tag = user.email.split('@')[0] ?? 'fault';
    const corpus = generateCorpus({
      count,
      domain: stack.domain,
      tag,
      maxAttachmentBytes: options.maxAttachmentBytes ?? 40_000,
      typicalAttachmentBytes: 8_000,
    });
    const files = writeCorpus(directory, corpus);
    for (let index = 0; index < files.length; index += 2_000)
      await seedMailbox(stack, user.email, 'INBOX', files.slice(index, index + 2_000));
    return corpus.map((message) => message.expect.messageId);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export interface AccountServers {
  imapPort: number;
  smtpPort: number;
}

/** Creates the account through the API without the login check (the servers may be scripted or down). */
export async function createAccount(
  api: ApiProcess,
  tenant: FaultTenant,
  user: MailUser,
  servers: AccountServers,
): Promise<string> {
  const created = await api.inject({
    method: 'POST',
    url: '/api/accounts?verify=false',
    headers: tenant.headers,
    payload: {
      email: user.email,
      password: user.password,
      imap: { host: '127.0.0.1', port: servers.imapPort, security: 'none' },
      smtp: { host: '127.0.0.1', port: servers.smtpPort, security: 'none' },
    },
  });
  if (created.statusCode !== 201) throw new Error(`account not created: ${created.statusCode} ${created.body}`);
  return created.json<{ id: string }>().id;
}

export async function requestSync(api: ApiProcess, tenant: FaultTenant, accountId: string): Promise<string> {
  const accepted = await api.inject({ method: 'POST', url: `/api/sync/imap/${accountId}`, headers: tenant.headers });
  if (accepted.statusCode !== 202) throw new Error(`sync not queued: ${accepted.statusCode} ${accepted.body}`);
  return accepted.json<{ syncRunId: string }>().syncRunId;
}

export async function syncStatus(api: ApiProcess, tenant: FaultTenant, accountId: string): Promise<SyncStatusDto> {
  const response = await api.inject({ url: `/api/sync/status/${accountId}`, headers: tenant.headers });
  if (response.statusCode !== 200) throw new Error(`sync status ${response.statusCode}: ${response.body}`);
  return response.json<SyncStatusDto>();
}

export interface StoredCounts {
  rows: number;
  distinctMessageIds: number;
  distinctUids: number;
  /** Seeded Message-IDs with no row. */
  missing: string[];
  /** Rows whose Message-ID was never seeded. */
  unexpected: string[];
}

/** The counts of a sync that stored each of `count` seeded messages once and nothing else. */
export function exactlySeeded(count: number): StoredCounts {
  return { rows: count, distinctMessageIds: count, distinctUids: count, missing: [], unexpected: [] };
}

/** How many messages the account has stored so far, read as the owner (no API in between). */
export async function storedRowCount(accountId: string, connectionString?: string): Promise<number> {
  const [row] = await ownerQuery<{ count: string }>(
    'SELECT count(*) FROM "mail_messages" WHERE "account_id" = $1',
    [accountId],
    connectionString,
  );
  return Number(row?.count ?? 0);
}

/** What the sync stored for the account, compared with the seeded set: rows, duplicates by Message-ID and by (folder, UID). */
export async function storedCounts(
  accountId: string,
  seeded: readonly string[],
  connectionString?: string,
): Promise<StoredCounts> {
  const rows = await ownerQuery<{ message_id: string | null; folder_id: string; uid: string }>(
    'SELECT "message_id", "folder_id", "uid" FROM "mail_messages" WHERE "account_id" = $1',
    [accountId],
    connectionString,
  );
  const messageIds = new Set(rows.map((row) => row.message_id ?? ''));
  const expected = new Set(seeded);
  return {
    rows: rows.length,
    distinctMessageIds: messageIds.size,
    distinctUids: new Set(rows.map((row) => `${row.folder_id}:${row.uid}`)).size,
    missing: seeded.filter((messageId) => !messageIds.has(messageId)),
    unexpected: [...messageIds].filter((messageId) => !expected.has(messageId)),
  };
}

/** Waits until the sync has stored exactly the seeded set and its run is finished; returns the counts. */
export async function syncedExactly(
  api: ApiProcess,
  tenant: FaultTenant,
  accountId: string,
  seeded: readonly string[],
  timeoutMs: number,
  describe: () => string = () => '',
  connectionString?: string,
): Promise<StoredCounts> {
  return eventually(
    async () => {
      const status = await syncStatus(api, tenant, accountId);
      const counts = await storedCounts(accountId, seeded, connectionString);
      if (status.lastRun?.state !== 'succeeded' || counts.missing.length > 0) {
        throw new Error(
          `sync not complete: run ${JSON.stringify(status.lastRun)}, ${counts.rows}/${seeded.length} rows\n${describe()}`,
        );
      }
      return counts;
    },
    timeoutMs,
    250,
  );
}

export interface ComposeOptions {
  /** Abandon the request after this long (a hang shows as status 0). */
  timeoutMs?: number;
  /** A retry of a request that failed passes the first one's key. */
  idempotencyKey?: string;
}

export async function compose(
  api: ApiProcess,
  tenant: FaultTenant,
  accountId: string,
  to: string,
  subject: string,
  options: ComposeOptions = {},
): Promise<ApiResponse> {
  return api.inject({
    timeoutMs: options.timeoutMs,
    method: 'POST',
    url: '/api/compose',
    headers: { ...tenant.headers, 'idempotency-key': options.idempotencyKey ?? randomUUID() },
    payload: { accountId, to: [to], subject, text: `${subject}: sent while a dependency failed` },
  });
}

export async function sendRecordOf(api: ApiProcess, tenant: FaultTenant, id: string): Promise<SendRecordDto> {
  const response = await api.inject({ url: `/api/compose/outbox/${id}`, headers: tenant.headers });
  if (response.statusCode !== 200) throw new Error(`send record ${id}: ${response.statusCode} ${response.body}`);
  return response.json<SendRecordDto>();
}

/** Waits for every send to reach a final state and returns the records. */
export async function settledSends(
  api: ApiProcess,
  tenant: FaultTenant,
  ids: readonly string[],
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<SendRecordDto[]> {
  return eventually(
    async () => {
      const records = await Promise.all(ids.map((id) => sendRecordOf(api, tenant, id)));
      const open = records.filter((record) => record.state !== 'sent' && record.state !== 'failed');
      if (open.length > 0)
        throw new Error(
          `${open.length}/${ids.length} sends not settled, e.g. ${JSON.stringify(open[0])}\n${describe()}`,
        );
      return records;
    },
    timeoutMs,
    250,
  );
}

/** p-th percentile (0-100) of the values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
