import { AppConfig } from '@app/config';
import { BulkActionRepository } from '@app/database';
import type { BulkBatch, BulkMemberOutcome } from '@app/database';
import {
  AccountMailSettings,
  AccountNotFoundError,
  ImapConnectionPool,
  MailServerLoginError,
  OutboundRefusedError,
  serverReason,
  withTimeout,
} from '@app/mail';
import { Injectable } from '@nestjs/common';
import type { ImapFlow } from 'imapflow';

import { toUidSet } from '../sync/uid-set.js';
import { ImapRefusalError, refusal } from './message-action-applier.js';

/** Members per server command: one UID STORE, MOVE or EXPUNGE names at most this many UIDs. */
export const BULK_BATCH_SIZE = 1_000;

export type BulkActionOutcome =
  | { state: 'completed' }
  | { state: 'failed'; reason: string }
  | { state: 'skipped'; reason: string }
  | { state: 'waiting' };

/**
 * Applies a bulk action's members, already changed in PostgreSQL, to the IMAP server: members of
 * one source folder with the same change go out as one UID set per command, and each batch is
 * settled (confirmed, or undone with the server's reason) and counted in one transaction before
 * the next. A job that dies mid-way leaves the unsettled members pending, and its retry starts
 * with them: a batch done on the server but not yet settled is sent again, which changes nothing
 * for flags and expunges, and finds moved messages in the destination by Message-ID.
 */
@Injectable()
export class BulkActionApplier {
  constructor(
    private readonly config: AppConfig,
    private readonly bulks: BulkActionRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly pool: ImapConnectionPool,
  ) {}

  /** `finalAttempt`: a connection failure now undoes the remaining members instead of leaving them to a retry. */
  async apply(bulkActionId: string, finalAttempt: boolean): Promise<BulkActionOutcome> {
    const record = await this.bulks.markRunning(bulkActionId);
    if (!record || (record.state !== 'running' && record.state !== 'queued'))
      return { state: 'skipped', reason: 'bulk action already finished' };
    if (!this.config.features.imapSync)
      return this.fail(bulkActionId, 'IMAP access is disabled on this deployment (ENABLE_IMAP_SYNC=false)');
    for (;;) {
      const next = await this.bulks.nextBatch(bulkActionId, BULK_BATCH_SIZE);
      if (next.state === 'waiting') return next;
      if (next.state === 'finished') {
        await this.bulks.complete(bulkActionId);
        return { state: 'completed' };
      }
      let outcomes: BulkMemberOutcome[];
      try {
        outcomes = await this.applyOnServer(next.batch);
      } catch (error: unknown) {
        if (error instanceof ImapRefusalError) {
          outcomes = next.batch.members.map((member) => ({ actionId: member.actionId, refused: error.message }));
        } else if (
          error instanceof MailServerLoginError ||
          error instanceof AccountNotFoundError ||
          error instanceof OutboundRefusedError
        ) {
          return this.fail(bulkActionId, error.message);
        } else if (finalAttempt) {
          return this.fail(bulkActionId, `the IMAP server could not be reached: ${serverReason(error)}`);
        } else {
          throw error;
        }
      }
      await this.bulks.settleBatch(bulkActionId, outcomes);
    }
  }

  private async fail(bulkActionId: string, reason: string): Promise<BulkActionOutcome> {
    await this.bulks.failRemaining(bulkActionId, reason);
    return { state: 'failed', reason };
  }

  private async applyOnServer(batch: BulkBatch): Promise<BulkMemberOutcome[]> {
    const { sourcePath, change, members } = batch;
    if (!sourcePath) throw new ImapRefusalError('the folder the message was in is no longer known; sync the account');
    const { imap } = await this.mailSettings.forAccount(batch.accountId);
    const timeoutMs = this.config.mail.imapTimeoutMs;
    const uids = toUidSet(members.map((member) => member.uid));
    const applied = members.map((member) => ({ actionId: member.actionId }));
    return this.pool.withConnection(
      imap,
      async (client, lease) => {
        const lock = await withTimeout(
          'mailbox lock',
          timeoutMs,
          client.getMailboxLock(sourcePath, { acquireTimeout: timeoutMs }),
          () => client.close(),
        );
        let moved: Map<number, number> | undefined;
        let movedValidity: string | undefined;
        try {
          if (client.mailbox === false || client.mailbox.uidValidity.toString() !== batch.uidValidity) {
            throw new ImapRefusalError(
              `folder ${sourcePath} was replaced on the server (UIDVALIDITY changed); sync the account`,
            );
          }
          if ('add' in change) {
            if (change.add.length > 0 && !(await client.messageFlagsAdd(uids, change.add, { uid: true })))
              throw refusal(lease, 'set flags');
            if (change.remove.length > 0 && !(await client.messageFlagsRemove(uids, change.remove, { uid: true })))
              throw refusal(lease, 'clear flags');
            return applied;
          }
          if ('expunge' in change) {
            if (!(await client.messageDelete(uids, { uid: true }))) throw refusal(lease, 'delete the messages');
            return applied;
          }
          if (!batch.targetPath)
            throw new ImapRefusalError('the destination folder is no longer known; sync the account');
          const result = await client.messageMove(uids, batch.targetPath, { uid: true });
          if (result === false || result === undefined)
            throw refusal(lease, `move the messages to ${batch.targetPath}`);
          moved = result.uidMap;
          movedValidity = result.uidValidity?.toString();
        } finally {
          lock.release();
        }
        return this.placeMoved(client, batch, moved, movedValidity, timeoutMs);
      },
      timeoutMs * 4,
    );
  }

  /**
   * Where each moved member went: COPYUID names most; a member it leaves out (a server without
   * UIDPLUS, or a retry after the move had already happened) is looked up in the destination by
   * its Message-ID, and is refused when it is not there.
   */
  private async placeMoved(
    client: ImapFlow,
    batch: BulkBatch,
    moved: Map<number, number> | undefined,
    movedValidity: string | undefined,
    timeoutMs: number,
  ): Promise<BulkMemberOutcome[]> {
    const unplaced = batch.members.filter((member) => moved?.get(member.uid) === undefined || !movedValidity);
    const found = new Map<string, { uidValidity: string; uid: number }>();
    if (unplaced.length > 0) {
      const lock = await withTimeout(
        'mailbox lock',
        timeoutMs,
        client.getMailboxLock(batch.targetPath ?? '', { readOnly: true, acquireTimeout: timeoutMs }),
        () => client.close(),
      );
      try {
        for (const member of unplaced) {
          if (!member.messageIdHeader || client.mailbox === false) continue;
          const uids = await client.search({ header: { 'message-id': member.messageIdHeader } }, { uid: true });
          const uid = uids ? Math.max(0, ...uids) : 0;
          if (uid > 0) found.set(member.actionId, { uidValidity: client.mailbox.uidValidity.toString(), uid });
        }
      } finally {
        lock.release();
      }
    }
    return batch.members.map((member) => {
      const uid = moved?.get(member.uid);
      if (uid !== undefined && movedValidity)
        return { actionId: member.actionId, placed: { uidValidity: movedValidity, uid } };
      const placed = found.get(member.actionId);
      if (placed) return { actionId: member.actionId, placed };
      return {
        actionId: member.actionId,
        refused: `the message is no longer in ${batch.sourcePath ?? 'its folder'} on the server`,
      };
    });
  }
}
