import { AppConfig } from '@app/config';
import { MessageRepository, SendDeliveryReportRepository } from '@app/database';
import {
  AccountMailSettings,
  MimeParserPool,
  openImapSession,
  OutboundPolicy,
  OutboundRefusedError,
  sourceStreamOf,
  withTimeout,
} from '@app/mail';
import type { ImapSession } from '@app/mail';
import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { toSyncedMessage } from '../sync/message-mapper.js';

export type MessageParseOutcome = { state: 'parsed' | 'unparseable' } | { state: 'skipped'; reason: string };

/**
 * Fills the bodies of one stored message from its source on the server: messages synced while
 * parsing was off, too large to parse inline, or re-parsed on request.
 */
@Injectable()
export class MessageParseService {
  constructor(
    private readonly config: AppConfig,
    private readonly scope: TenantScope,
    private readonly messages: MessageRepository,
    private readonly deliveryReports: SendDeliveryReportRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly parser: MimeParserPool,
    private readonly outboundPolicy: OutboundPolicy,
  ) {}

  /** Must run inside the message's tenant context. Connection failures throw, so the job is retried. */
  async parse(messageId: string): Promise<MessageParseOutcome> {
    const location = await this.messages.locate(messageId);
    if (!location) return { state: 'skipped', reason: 'message no longer stored' };
    const { message, folder } = location;
    const connection = await this.mailSettings.forAccount(message.accountId);
    let session: ImapSession;
    try {
      session = await openImapSession(this.outboundPolicy, connection.imap, this.config.mail.imapTimeoutMs, {
        qresync: false,
      });
    } catch (error: unknown) {
      // A refused server stays refused: retrying the job would only be refused again.
      if (error instanceof OutboundRefusedError) return { state: 'skipped', reason: error.message };
      throw error;
    }
    const client = session.client;
    const timeoutMs = this.config.mail.imapTimeoutMs;
    try {
      const lock = await withTimeout(
        'mailbox lock',
        timeoutMs,
        client.getMailboxLock(folder.path, { readOnly: true, acquireTimeout: timeoutMs }),
        () => client.close(),
      );
      try {
        if (!client.mailbox || client.mailbox.uidValidity.toString() !== message.uidValidity) {
          return { state: 'skipped', reason: 'folder was replaced on the server (UIDVALIDITY changed)' };
        }
        const fetched = await withTimeout(
          'fetch',
          timeoutMs * 2,
          client.fetchOne(
            message.uid,
            {
              uid: true,
              flags: true,
              internalDate: true,
              size: true,
              envelope: true,
              bodyStructure: true,
              headers: true,
            },
            { uid: true },
          ),
          () => client.close(),
        );
        if (!fetched) return { state: 'skipped', reason: 'message no longer on the server' };
        // Read as it is parsed: the messages that come here are the largest, too large to hold whole.
        const outcome = await this.parser.parseStream(sourceStreamOf(client, message.uid, timeoutMs * 2));
        if (!outcome) return { state: 'skipped', reason: 'message no longer on the server' };
        const row = toSyncedMessage(fetched, null, outcome, fetched.headers ?? null);
        await this.scope.transaction(async () => {
          await this.messages.applyParsed(message.id, { ...row, parseState: outcome.ok ? 'parsed' : 'unparseable' });
          if (row.deliveryReport) await this.deliveryReports.record(message.accountId, [row.deliveryReport]);
        });
        return { state: outcome.ok ? 'parsed' : 'unparseable' };
      } finally {
        lock.release();
      }
    } finally {
      await session.close();
    }
  }
}
