import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

import { readMailStack } from '../../../test/infra/mail-stack.js';
import { ApiProcess } from '../../../test/support/api-process.js';
import { bearerFor } from '../../../test/support/auth.js';
import { insertMailbox } from '../../../test/support/messages-fixture.js';
import type { Mailbox } from '../../../test/support/messages-fixture.js';

const TENANT = 'unsubscribe-e2e';

interface ReceivedPost {
  path: string;
  contentType: string | undefined;
  body: string;
}

describe('POST /api/messages/:id/unsubscribe', () => {
  let api: ApiProcess;
  let lists: Server;
  let mailbox: Mailbox;
  const received: ReceivedPost[] = [];

  beforeAll(async () => {
    // A list server on loopback with HTTPS, as RFC 8058 requires, using the test mail stack's certificate.
    const stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    lists = createServer(
      { cert: readFileSync(stack.tlsCert), key: readFileSync(join(dirname(stack.tlsCert), 'key.pem')) },
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          received.push({
            path: request.url ?? '',
            contentType: request.headers['content-type'],
            body: Buffer.concat(chunks).toString(),
          });
          response.writeHead(request.url?.startsWith('/fail') ? 500 : 200).end();
        });
      },
    );
    await new Promise<void>((resolve) => lists.listen(0, '127.0.0.1', resolve));
    const port = (lists.address() as AddressInfo).port;
    const list = `https://127.0.0.1:${port}`;
    api = await ApiProcess.start({
      OUTBOUND_POLICY: 'allowlist',
      OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${port}`,
      NODE_EXTRA_CA_CERTS: stack.tlsCert,
    });
    const oneClick = (url: string) => ({
      'list-unsubscribe': `<${url}>, <mailto:ignored@lists.example.com>`,
      'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
    });
    mailbox = await insertMailbox(
      TENANT,
      'reader@unsubscribe.test',
      [{ path: 'INBOX', role: 'inbox' }],
      [
        { key: 'oneClick', folder: 'INBOX', receivedAt: '2024-06-01T08:00:00Z', headers: oneClick(`${list}/u?id=1`) },
        { key: 'failing', folder: 'INBOX', receivedAt: '2024-06-01T08:01:00Z', headers: oneClick(`${list}/fail`) },
        {
          key: 'private',
          folder: 'INBOX',
          receivedAt: '2024-06-01T08:02:00Z',
          headers: oneClick('https://10.1.2.3/u'),
        },
        {
          key: 'mailto',
          folder: 'INBOX',
          receivedAt: '2024-06-01T08:03:00Z',
          headers: { 'list-unsubscribe': '<mailto:leave@lists.example.com?subject=bye%20now>' },
        },
        {
          key: 'webOnly',
          folder: 'INBOX',
          receivedAt: '2024-06-01T08:04:00Z',
          headers: { 'list-unsubscribe': `<${list}/page>` },
        },
        { key: 'plain', folder: 'INBOX', receivedAt: '2024-06-01T08:05:00Z', headers: { subject: 'hi' } },
      ],
    );
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
    lists?.close();
  });

  const unsubscribe = (key: string, tenant = TENANT) =>
    api.inject({
      method: 'POST',
      url: `/api/messages/${mailbox.messageIds[key]}/unsubscribe`,
      headers: { authorization: bearerFor(tenant) },
    });

  it('posts the RFC 8058 one-click request to the list over HTTPS', async () => {
    const response = await unsubscribe('oneClick');

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ method: 'one-click', status: 200, sendId: null });
    expect(received).toEqual([
      { path: '/u?id=1', contentType: 'application/x-www-form-urlencoded', body: 'List-Unsubscribe=One-Click' },
    ]);
  });

  it('answers 502 when the list refuses, and 422 when the egress policy refuses its address, without connecting', async () => {
    const failing = await unsubscribe('failing');
    expect(failing.statusCode).toBe(502);
    expect(failing.json()).toMatchObject({
      code: 'unsubscribe_refused',
      message: expect.stringContaining('HTTP 500') as unknown,
    });

    const before = received.length;
    const refused = await unsubscribe('private');
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'mail_host_not_allowed' });
    expect(received.length).toBe(before);
  });

  it('queues an unsubscribe mail from the account when the list takes mail only', async () => {
    const response = await unsubscribe('mailto');
    expect(response.statusCode).toBe(200);
    const { method, sendId } = response.json<{ method: string; sendId: string }>();
    expect(method).toBe('mailto');
    const send = await api.inject({
      url: `/api/compose/outbox/${sendId}`,
      headers: { authorization: bearerFor(TENANT) },
    });
    expect(send.statusCode).toBe(200);
    expect(send.json()).toMatchObject({ id: sendId, state: 'queued' });
  });

  it('answers 422 naming the page when the list offers only a web page, and when there is no List-Unsubscribe', async () => {
    const webOnly = await unsubscribe('webOnly');
    expect(webOnly.statusCode).toBe(422);
    expect(webOnly.json()).toMatchObject({
      code: 'unsubscribe_not_offered',
      message: expect.stringContaining('/page') as unknown,
    });
    const plain = await unsubscribe('plain');
    expect(plain.statusCode).toBe(422);
    expect(plain.json()).toMatchObject({ code: 'unsubscribe_not_offered' });
    expect((await unsubscribe('plain', `${TENANT}-other`)).statusCode).toBe(404);
  });
});
