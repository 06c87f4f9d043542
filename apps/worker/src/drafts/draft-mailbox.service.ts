import { DraftRepository } from '@app/database';
import { AccountMailSettings, AccountNotFoundError, ImapConnectionPool } from '@app/mail';
import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { folderWithSpecialUse, uidsByMessageId } from '../mailbox/mailbox-copies.js';
import { draftVersionOf, MimeMessageBuilder } from '../mailbox/mime-message-builder.js';

export type DraftMirrorOutcome =
  | { state: 'mirrored'; uid: number | null }
  | { state: 'removed'; removed: number }
  | { state: 'skipped'; reason: string };

/**
 * Keeps the account's IMAP Drafts folder in step with the draft in PostgreSQL: exactly one copy
 * of the current version while the draft exists, none once it is deleted or sent. Every run
 * converges on the current state, so jobs for stale versions, repeats and crashes are harmless.
 */
@Injectable()
export class DraftMailboxService {
  constructor(
    private readonly scope: TenantScope,
    private readonly imapPool: ImapConnectionPool,
    private readonly drafts: DraftRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly builder: MimeMessageBuilder,
  ) {}

  async mirror(accountId: string, draftId: string): Promise<DraftMirrorOutcome> {
    let connection;
    try {
      connection = await this.mailSettings.forAccount(accountId);
    } catch (error: unknown) {
      if (error instanceof AccountNotFoundError) return { state: 'skipped', reason: 'the account no longer exists' };
      throw error;
    }
    // Two runs for one draft (an edit while the previous mirror still runs) would each see the
    // other's copy as stale; a transaction-scoped advisory lock makes them take turns.
    return this.scope.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`draft-mirror:${draftId}`]);
      const draft = await this.drafts.findById(draftId);
      return this.imapPool.withConnection(connection.imap, async (client) => {
        const path = await folderWithSpecialUse(client, '\\Drafts');
        if (!path) {
          // Nothing to mirror into: nothing is owed either.
          if (draft) await this.drafts.markMirrored(draft.id, draft.version);
          else await this.drafts.forgetRemoval(draftId);
          return { state: 'skipped', reason: 'the account has no Drafts folder' };
        }
        const lock = await client.getMailboxLock(path);
        try {
          const uids = await uidsByMessageId(client, `${draftId}.v`);
          const copies =
            uids.length > 0 ? await client.fetchAll(uids.join(','), { uid: true, envelope: true }, { uid: true }) : [];
          const current = draft
            ? copies.find((copy) => draftVersionOf(copy.envelope?.messageId, draftId) === draft.version)
            : undefined;
          let uid = current?.uid ?? null;
          if (draft && !current) {
            const raw = await this.builder.forDraft(draft, connection.account);
            const appended = await client.append(path, raw, ['\\Draft', '\\Seen'], draft.updatedAt);
            uid = appended ? (appended.uid ?? null) : null;
          }
          const stale = copies.filter((copy) => copy.uid !== uid).map((copy) => copy.uid);
          if (stale.length > 0) await client.messageDelete(stale.join(','), { uid: true });
          if (!draft) {
            await this.drafts.forgetRemoval(draftId);
            return { state: 'removed', removed: stale.length };
          }
          const uidValidity = client.mailbox ? client.mailbox.uidValidity.toString() : null;
          await this.drafts.setImapLocation(draft.id, uid, uid === null ? null : uidValidity);
          await this.drafts.markMirrored(draft.id, draft.version);
          return { state: 'mirrored', uid };
        } finally {
          lock.release();
        }
      });
    });
  }
}
