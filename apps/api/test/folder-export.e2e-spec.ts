import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { createStackAccount, syncWithWorker } from '../../../test/support/stack-account.js';
import { bearerFor } from '../../../test/support/auth.js';

/** 96 MB in all: what the API may grow by is half of it, so a folder held whole would fail. */
const LARGE_MESSAGES = 48;
const LARGE_BYTES = 2 * 1024 * 1024;
const MAX_RSS_GROWTH = 48 * 1024 * 1024;

function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'mu').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** A message whose body has lines an mbox must quote, and 8-bit Latin-1 text it must leave alone. */
function trickyMessage(to: string): Buffer {
  return Buffer.concat([
    Buffer.from(
      [
        'From: Quoting Test <quoting@example.com>',
        `To: <${to}>`,
        'Subject: From lines',
        'Date: Tue, 04 Jun 2024 10:00:00 +0000',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=iso-8859-1',
        'Content-Transfer-Encoding: 8bit',
        '',
        'From the start of a line,',
        '>From an already quoted line,',
        ' From an indented line.',
        '',
      ].join('\r\n'),
    ),
    Buffer.from('caf\xe9\r\n', 'latin1'),
  ]);
}

function largeMessage(to: string, index: number): string {
  const body = (
    randomBytes(LARGE_BYTES * 0.75)
      .toString('base64')
      .match(/.{1,76}/gu) ?? []
  ).join('\r\n');
  return [
    'From: Sender <sender@example.com>',
    `To: <${to}>`,
    `Subject: Large ${index}`,
    `Date: Wed, 05 Jun 2024 10:${String(index).padStart(2, '0')}:00 +0000`,
    'MIME-Version: 1.0',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    body,
    '',
  ].join('\r\n');
}

describe('GET /api/accounts/:id/folders/:folderId/export', () => {
  const tenant = `export-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  const password = 'export password';
  let stack: MailStack;
  let api: ApiProcess;
  let fixtures: string;
  let accountId: string;
  let inboxId: string;
  let archiveId: string;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    const email = `export-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUser(stack, email, password);
    fixtures = mkdtempSync(join(tmpdir(), 'export-e2e-'));
    const tricky = join(fixtures, 'tricky.eml');
    writeFileSync(tricky, trickyMessage(email));
    await seedMailbox(stack, email, 'INBOX', [tricky]);
    const large = Array.from({ length: LARGE_MESSAGES }, (_, index) => {
      const file = join(fixtures, `large-${index}.eml`);
      writeFileSync(file, largeMessage(email, index));
      return file;
    });
    await seedMailbox(stack, email, 'Archive', large);

    api = await ApiProcess.start();
    accountId = await createStackAccount(api, stack, auth, email, password);
    await syncWithWorker(api, auth, accountId);
    const folders = (await api.inject({ url: `/api/accounts/${accountId}/folders`, headers: auth })).json<{
      items: { id: string; path: string }[];
    }>().items;
    inboxId = folders.find((folder) => folder.path === 'INBOX')?.id ?? '';
    archiveId = folders.find((folder) => folder.path === 'Archive')?.id ?? '';
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  const exportUrl = (folderId: string): string => `${api.baseUrl}/api/accounts/${accountId}/folders/${folderId}/export`;

  it('writes each message as an mboxrd entry: a From line, LF line ends, From lines quoted, 8-bit bytes kept', async () => {
    const response = await fetch(exportUrl(inboxId), { headers: auth });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/mbox');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="INBOX.mbox"');
    const mbox = Buffer.from(await response.arrayBuffer()).toString('latin1');
    expect(mbox).toMatch(/^From quoting@example\.com Tue Jun {2}4 10:00:00 2024\n/u);
    expect(mbox).not.toContain('\r');
    expect(mbox).toContain('\n>From the start of a line,\n>>From an already quoted line,\n From an indented line.\n');
    expect(mbox.endsWith('café\n\n')).toBe(true);
  });

  it('streams a large folder whole, oldest first, while the API process grows by less than half of it', async () => {
    // Resets VmHWM to the current RSS (proc(5), clear_refs), so VmHWM afterwards is this export's peak.
    writeFileSync(`/proc/${api.pid}/clear_refs`, '5');
    const before = memoryOf(api.pid, 'VmRSS');
    const response = await fetch(exportUrl(archiveId), { headers: auth });
    expect(response.status).toBe(200);
    let size = 0;
    let partialLine = '';
    const subjects: string[] = [];
    // Read as it comes, never held whole: the test process is not what should run out of memory.
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      // A reader slower than the server: what it has not taken yet must wait on the server, not in the API.
      await new Promise((resolve) => setTimeout(resolve, 2));
      const lines = (partialLine + Buffer.from(chunk).toString('latin1')).split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) {
        const subject = /^Subject: (Large \d+)$/u.exec(line)?.[1];
        if (subject) subjects.push(subject);
      }
    }

    expect(size).toBeGreaterThan(LARGE_MESSAGES * LARGE_BYTES * 0.9);
    expect(subjects).toEqual(Array.from({ length: LARGE_MESSAGES }, (_, index) => `Large ${index}`));
    expect(memoryOf(api.pid, 'VmHWM') - before).toBeLessThan(MAX_RSS_GROWTH);
  }, 120_000);

  it('answers 404 for another tenant, an unknown folder and a folder of another account', async () => {
    const foreign = await api.inject({
      url: `/api/accounts/${accountId}/folders/${inboxId}/export`,
      headers: { authorization: bearerFor(`${tenant}-other`) },
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'account_not_found' });
    const unknown = await api.inject({
      url: `/api/accounts/${accountId}/folders/${randomUUID()}/export`,
      headers: auth,
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'folder_not_found' });
  });
});
