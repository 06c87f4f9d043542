import { AppConfig } from '@app/config';
import { MessageActionRepository } from '@app/database';
import type { ActionToApply } from '@app/database';
import {
  AccountMailSettings,
  AccountNotFoundError,
  ImapConnectionPool,
  MailServerLoginError,
  OutboundRefusedError,
  serverReason,
  withTimeout,
} from '@app/mail';
import type { ImapLease } from '@app/mail';
import { Injectable } from '@nestjs/common';
import type { ImapFlow } from 'imapflow';

export type MessageActionOutcome =
  | { state: 'applied' }
  | { state: 'reverted'; reason: string }
  | { state: 'skipped'; reason: string }
  | { state: 'waiting' };

/** The server answered NO (or the action cannot be carried out there): retrying would not help. */
export class ImapRefusalError extends Error {}

interface Placement {
  uidValidity: string;
  uid: number;
}

/**
 * Applies a flag change, move or delete, already made in PostgreSQL, to the IMAP server; confirms
 * it, or undoes it with the server's reason. Runs in the action's tenant context.
 */
@Injectable()
export class MessageActionApplier {
  constructor(
    private readonly config: AppConfig,
    private readonly actions: MessageActionRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly pool: ImapConnectionPool,
  ) {}

  /** `finalAttempt`: a connection failure now undoes the change instead of leaving it to a retry. */
  async apply(actionId: string, finalAttempt: boolean): Promise<MessageActionOutcome> {
    const plan = await this.actions.findToApply(actionId);
    if (!plan || plan.action.state !== 'pending') return { state: 'skipped', reason: 'action already settled' };
    if (await this.actions.hasEarlierPending(plan.action)) return { state: 'waiting' };
    if (!this.config.features.imapSync)
      return this.undo(actionId, 'IMAP access is disabled on this deployment (ENABLE_IMAP_SYNC=false)');
    try {
      const placed = await this.applyOnServer(plan);
      await this.actions.confirm(actionId, placed ?? undefined);
      return { state: 'applied' };
    } catch (error: unknown) {
      if (error instanceof ImapRefusalError) return this.undo(actionId, error.message);
      if (
        error instanceof MailServerLoginError ||
        error instanceof AccountNotFoundError ||
        error instanceof OutboundRefusedError
      ) {
        return this.undo(actionId, error.message);
      }
      if (finalAttempt) return this.undo(actionId, `the IMAP server could not be reached: ${serverReason(error)}`);
      throw error;
    }
  }

  private async undo(actionId: string, reason: string): Promise<MessageActionOutcome> {
    await this.actions.revert(actionId, reason);
    return { state: 'reverted', reason };
  }

  private async applyOnServer(plan: ActionToApply): Promise<Placement | null> {
    const { action, sourcePath } = plan;
    if (!sourcePath) throw new ImapRefusalError('the folder the message was in is no longer known; sync the account');
    const { imap } = await this.mailSettings.forAccount(action.accountId);
    const timeoutMs = this.config.mail.imapTimeoutMs;
    return this.pool.withConnection(
      imap,
      async (client, lease) => {
        const uid = Number(action.origin.uid);
        const lock = await withTimeout(
          'mailbox lock',
          timeoutMs,
          client.getMailboxLock(sourcePath, { acquireTimeout: timeoutMs }),
          () => client.close(),
        );
        try {
          if (client.mailbox === false || client.mailbox.uidValidity.toString() !== action.origin.uidValidity) {
            throw new ImapRefusalError(
              `folder ${sourcePath} was replaced on the server (UIDVALIDITY changed); sync the account`,
            );
          }
          const { change } = action;
          if ('add' in change) {
            if (change.add.length > 0 && !(await client.messageFlagsAdd(String(uid), change.add, { uid: true })))
              throw refusal(lease, 'set flags');
            if (
              change.remove.length > 0 &&
              !(await client.messageFlagsRemove(String(uid), change.remove, { uid: true }))
            )
              throw refusal(lease, 'clear flags');
            return null;
          }
          if ('expunge' in change) {
            if (!(await client.messageDelete(String(uid), { uid: true }))) throw refusal(lease, 'delete the message');
            return null;
          }
          if (!plan.targetPath)
            throw new ImapRefusalError('the destination folder is no longer known; sync the account');
          const moved = await client.messageMove(String(uid), plan.targetPath, { uid: true });
          if (moved === false || moved === undefined) throw refusal(lease, `move the message to ${plan.targetPath}`);
          const newUid = moved.uidMap?.get(uid);
          if (newUid !== undefined && moved.uidValidity !== undefined)
            return { uidValidity: moved.uidValidity.toString(), uid: newUid };
        } finally {
          lock.release();
        }
        // No COPYUID (a server without UIDPLUS, or a retry after the move had already happened):
        // look the message up in the destination by its Message-ID.
        return this.findInFolder(client, plan, timeoutMs);
      },
      timeoutMs * 4,
    );
  }

  private async findInFolder(client: ImapFlow, plan: ActionToApply, timeoutMs: number): Promise<Placement> {
    const targetPath = plan.targetPath ?? '';
    if (!plan.messageIdHeader)
      throw new ImapRefusalError(`the message is no longer in ${plan.sourcePath ?? 'its folder'} on the server`);
    const lock = await withTimeout(
      'mailbox lock',
      timeoutMs,
      client.getMailboxLock(targetPath, { readOnly: true, acquireTimeout: timeoutMs }),
      () => client.close(),
    );
    try {
      const found = await client.search({ header: { 'message-id': plan.messageIdHeader } }, { uid: true });
      const uid = found ? Math.max(0, ...found) : 0;
      if (uid === 0 || client.mailbox === false)
        throw new ImapRefusalError(`the message is no longer in ${plan.sourcePath ?? 'its folder'} on the server`);
      return { uidValidity: client.mailbox.uidValidity.toString(), uid };
    } finally {
      lock.release();
    }
  }
}

export function refusal(lease: ImapLease, what: string): ImapRefusalError {
  const refused = lease.lastCommandError();
  return new ImapRefusalError(`the IMAP server refused to ${what}${refused ? `: ${serverReason(refused)}` : ''}`);
}
