import { ChangeNotifications } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { BadRequestException, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import type { AuthenticatedRequest } from '../../auth/authenticated-request.js';
import { ChangesService } from '../changes/changes.service.js';
import { ChangeEventStream } from './change-event-stream.js';

const READ_LIMIT = 500;
const TIMING = { heartbeatMs: 15_000, pollMs: 10_000 };
const EVENT_ID = /^\d{1,15}$/;

/**
 * GET /api/events: opens server-sent event streams of account change logs. Every API process
 * listens for the log's commit notifications and each stream reads the log from its own cursor,
 * so streams work the same behind any replica and survive a lost notification.
 */
@Injectable()
export class ChangeEventStreams implements BeforeApplicationShutdown {
  private readonly open = new Set<ChangeEventStream>();

  constructor(
    private readonly changes: ChangesService,
    private readonly notifications: ChangeNotifications,
    private readonly tenantContext: TenantContext,
  ) {}

  async stream(
    accountId: string,
    lastEventId: string | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    if (lastEventId !== undefined && !EVENT_ID.test(lastEventId))
      throw new BadRequestException('Last-Event-ID must be the id of an event of this stream');
    await this.changes.requireAccount(accountId);
    const tenantId = this.tenantContext.tenantId;
    let cursor: number;
    if (lastEventId === undefined) {
      cursor = await this.changes.currentState(accountId);
    } else {
      // Checked before the stream starts, so an expired cursor is answered 410 like /api/changes.
      cursor = Number(lastEventId);
      await this.changes.after(accountId, cursor, 1);
    }

    const read = (since: number) =>
      this.tenantContext.run(tenantId, () => this.changes.after(accountId, since, READ_LIMIT));
    reply.hijack();
    // Headers set by hooks so far (request id, CORS) are on the reply, which a hijacked response bypasses.
    for (const [name, value] of Object.entries(reply.getHeaders()))
      if (value !== undefined) reply.raw.setHeader(name, value);
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx (deployment/) would otherwise hold events back in its proxy buffer.
      'x-accel-buffering': 'no',
    });
    reply.raw.write('retry: 3000\n\n');

    let unsubscribe: (() => void) | null = null;
    const stream = new ChangeEventStream(reply.raw, cursor, read, () => {
      this.open.delete(stream);
      unsubscribe?.();
    });
    this.open.add(stream);
    unsubscribe = await this.notifications.subscribe(accountId, () => stream.wake());
    stream.start(TIMING, (request.raw as AuthenticatedRequest).tokenExpiresAt);
  }

  beforeApplicationShutdown(): void {
    for (const stream of this.open) stream.end();
  }
}
