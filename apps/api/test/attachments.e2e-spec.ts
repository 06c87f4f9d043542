import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { createStackAccount, syncWithWorker } from '../../../test/support/stack-account.js';
import { bearerFor } from '../../../test/support/auth.js';
import type { AttachmentDto } from '../src/modules/messages/dto/message-detail.dto.js';

const BIG_BYTES = 20 * 1024 * 1024;
const MAX_RSS_GROWTH = 50 * 1024 * 1024;
const LATIN1_NOTES = Buffer.from('café crème, 100 % sûr\r\n', 'latin1');

function base64Lines(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/gu) ?? []).join('\r\n');
}

/** A real MIME message: a 20 MiB base64 attachment with a UTF-8 name and a quoted-printable Latin-1 text file. */
function messageWithAttachments(to: string, big: Buffer): string {
  return [
    'From: Sender <sender@example.com>',
    `To: <${to}>`,
    'Subject: Big attachment',
    'Date: Tue, 04 Jun 2024 10:00:00 +0000',
    `Message-ID: <big-${randomUUID()}@example.com>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'See attached.',
    '--outer',
    'Content-Type: application/octet-stream; name="=?UTF-8?Q?Gro=C3=9Fer_Bericht.bin?="',
    'Content-Disposition: attachment; filename="=?UTF-8?Q?Gro=C3=9Fer_Bericht.bin?="',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(big),
    '--outer',
    'Content-Type: text/plain; charset=iso-8859-1; name="notes.txt"',
    'Content-Disposition: attachment; filename="notes.txt"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'caf=E9 cr=E8me, 100 =25 s=FBr',
    '',
    '--outer--',
    '',
  ].join('\r\n');
}

function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'mu').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Reads the whole body into a hash, never holding it: the test process must not be what runs out of memory. */
async function sha256Of(response: Response): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  if (!response.body) throw new Error('no body');
  // Node's web streams are async iterable; the DOM typings that say so are not loaded here.
  for await (const value of response.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(value);
    size += value.length;
  }
  return { hash: hash.digest('hex'), size };
}

describe('GET /api/messages/:id/attachments/:attachmentId', () => {
  const tenant = `attachments-${randomUUID().slice(0, 8)}`;
  const auth = { authorization: bearerFor(tenant) };
  const password = 'attachments password';
  const big = randomBytes(BIG_BYTES);
  let stack: MailStack;
  let api: ApiProcess;
  let fixtures: string;
  let messageId: string;
  let seededSource: Buffer;
  let bigAttachment: AttachmentDto;
  let notesAttachment: AttachmentDto;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    const email = `attachments-${randomUUID().slice(0, 8)}@${stack.domain}`;
    await addMailUser(stack, email, password);
    fixtures = mkdtempSync(join(tmpdir(), 'attachments-e2e-'));
    const file = join(fixtures, 'big.eml');
    seededSource = Buffer.from(messageWithAttachments(email, big));
    writeFileSync(file, seededSource);
    await seedMailbox(stack, email, 'INBOX', [file]);

    // One pooled connection: a download that did not give its connection back would block the next one.
    api = await ApiProcess.start({ IMAP_POOL_SIZE: '1', IMAP_TIMEOUT: '10' });
    const accountId = await createStackAccount(api, stack, auth, email, password);
    await syncWithWorker(api, auth, accountId);
    const list = await api.inject({ url: `/api/messages?accountId=${accountId}&folder=INBOX`, headers: auth });
    messageId = list.json<{ items: { id: string }[] }>().items[0]?.id ?? '';
    const detail = await api.inject({ url: `/api/messages/${messageId}`, headers: auth });
    const attachments = detail.json<{ attachments: AttachmentDto[] }>().attachments;
    bigAttachment = attachments.find((attachment) => attachment.filename === 'Großer Bericht.bin') as AttachmentDto;
    notesAttachment = attachments.find((attachment) => attachment.filename === 'notes.txt') as AttachmentDto;
    expect(bigAttachment).toBeDefined();
    expect(notesAttachment).toBeDefined();
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    rmSync(fixtures, { recursive: true, force: true });
  });

  const urlOf = (attachment: AttachmentDto, message = messageId): string =>
    `${api.baseUrl}/api/messages/${message}/attachments/${attachment.id}`;

  it('streams a text attachment decoded from quoted-printable, in its own charset, with RFC 6266 headers', async () => {
    const response = await fetch(urlOf(notesAttachment), { headers: auth });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=iso-8859-1');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="notes.txt"');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(LATIN1_NOTES);
  });

  it('streams 20 MB byte-identical while the API process grows by less than 50 MB', async () => {
    const pid = api.pid;
    // Resets VmHWM to the current RSS (proc(5), clear_refs), so VmHWM afterwards is this download's peak.
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const before = memoryOf(pid, 'VmRSS');
    let sampledPeak = before;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, memoryOf(pid, 'VmRSS'));
    }, 25);
    try {
      const response = await fetch(urlOf(bigAttachment), { headers: auth });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(response.headers.get('content-disposition')).toBe(
        `attachment; filename="Gro_er Bericht.bin"; filename*=UTF-8''Gro%C3%9Fer%20Bericht.bin`,
      );
      expect(response.headers.get('content-length')).toBeNull();
      const { hash, size } = await sha256Of(response);

      expect(size).toBe(BIG_BYTES);
      expect(hash).toBe(createHash('sha256').update(big).digest('hex'));
    } finally {
      clearInterval(sampler);
    }
    const peak = Math.max(sampledPeak, memoryOf(pid, 'VmHWM'));
    expect(peak - before).toBeLessThan(MAX_RSS_GROWTH);
  }, 120_000);

  it('streams the original message source as message/rfc822, byte for byte as it was delivered', async () => {
    const response = await fetch(`${api.baseUrl}/api/messages/${messageId}/raw`, { headers: auth });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('message/rfc822');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${messageId}.eml"`);
    const { hash, size } = await sha256Of(response);
    expect(size).toBe(seededSource.length);
    expect(hash).toBe(createHash('sha256').update(seededSource).digest('hex'));

    const foreign = await api.inject({
      url: `/api/messages/${messageId}/raw`,
      headers: { authorization: bearerFor(`${tenant}-other`) },
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'message_not_found' });
  }, 60_000);

  it('gives the pooled connection back when the client hangs up mid-download', async () => {
    const aborted = new AbortController();
    const response = await fetch(urlOf(bigAttachment), { headers: auth, signal: aborted.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    aborted.abort();

    // The pool holds one connection: this only succeeds once the abandoned download released it.
    const next = await fetch(urlOf(notesAttachment), { headers: auth });
    expect(next.status).toBe(200);
    expect(Buffer.from(await next.arrayBuffer())).toEqual(LATIN1_NOTES);
  }, 60_000);

  it('answers 404 for an unknown attachment, one of another message, and another tenant', async () => {
    const unknown = await api.inject({ url: `/api/messages/${messageId}/attachments/${randomUUID()}`, headers: auth });
    const otherMessage = await api.inject({
      url: `/api/messages/${randomUUID()}/attachments/${bigAttachment.id}`,
      headers: auth,
    });
    const foreign = await api.inject({
      url: `/api/messages/${messageId}/attachments/${bigAttachment.id}`,
      headers: { authorization: bearerFor(`other-${tenant}`) },
    });

    for (const response of [unknown, otherMessage, foreign]) {
      expect(response.statusCode).toBe(404);
      expect(Object.keys(response.json()).sort()).toEqual(['code', 'error', 'message', 'requestId', 'statusCode']);
      expect(response.json()).toMatchObject({ code: 'attachment_not_found' });
    }
    const badId = await api.inject({ url: `/api/messages/${messageId}/attachments/not-a-uuid`, headers: auth });
    expect(badId.statusCode).toBe(400);
  });
});
