import { randomUUID } from 'node:crypto';

import { ThreadLookupRepository } from '@app/database';
import type { SyncedMessage, ThreadMerge } from '@app/database';
import { Injectable } from '@nestjs/common';

/** What one batch decided about threads, kept for the batches after it until it commits. */
export interface ThreadLayer {
  /** Message-ID (own or referenced) to thread. */
  threadOfId: Map<string, string>;
  /** Thread merged away to the thread that absorbed it. */
  merged: Map<string, string>;
  /** Base subject to the thread of the latest message carrying it. */
  latestBySubject: Map<string, { threadId: string; receivedAt: number }>;
}

export interface ThreadResolution {
  /** Thread of each message, by UID. */
  threads: Map<number, string>;
  /** Threads this batch linked, to be merged once the batches before it are committed. */
  merges: ThreadMerge[];
}

const REPLY_PREFIX = /^\s*((re|fwd?|aw|sv|wg|antw)\s*(\[\d+\])?\s*:\s*)+/i;

/** In-Reply-To, then References from the last entry back: nearest ancestor first (RFC 5322 section 3.6.4). */
function referencedIdsOf(message: Pick<SyncedMessage, 'inReplyTo' | 'references'>): string[] {
  const ids = [message.inReplyTo, ...[...message.references].reverse()];
  return [...new Set(ids.filter((id): id is string => Boolean(id)))];
}

/** The subject a reply chain shares: reply and forward prefixes removed, case folded. */
export function baseSubject(subject: string | null): string {
  return (subject ?? '').replace(REPLY_PREFIX, '').trim().toLowerCase();
}

export function emptyThreadLayer(): ThreadLayer {
  return { threadOfId: new Map(), merged: new Map(), latestBySubject: new Map() };
}

/**
 * Decides which thread each synced message joins. A message joins the thread of the nearest
 * message it refers to (In-Reply-To, then References from the last entry back, as RFC 5322
 * section 3.6.4 orders them), of a stored message replying to it, or of another copy of itself;
 * otherwise it starts a thread. Mail arrives in any order (a reply in INBOX before its original in
 * Sent), so when one message links two threads they are merged. The subject is used only when both
 * headers are missing and the subject reads as a reply.
 */
@Injectable()
export class ThreadResolver {
  constructor(private readonly lookups: ThreadLookupRepository) {}

  /**
   * Threads for one batch, `messages` in ascending UID order; runs inside the batch's transaction.
   * `earlier` holds what batches of the same sequence decided and have not committed yet: the
   * stored rows answer for everything committed, the layers for the rest. What this batch decides
   * is recorded in `layer` for the batches after it.
   */
  async resolve(
    accountId: string,
    messages: SyncedMessage[],
    earlier: ThreadLayer[],
    layer: ThreadLayer,
  ): Promise<ThreadResolution> {
    const mergedTo = (threadId: string): string | undefined => {
      for (let index = earlier.length - 1; index >= 0; index -= 1) {
        const winner = earlier[index]?.merged.get(threadId);
        if (winner !== undefined) return winner;
      }
      return layer.merged.get(threadId);
    };
    const current = (threadId: string): string => {
      let id = threadId;
      for (let next = mergedTo(id); next !== undefined; next = mergedTo(id)) id = next;
      return id;
    };
    const idsOf = (message: SyncedMessage): string[] => [
      ...new Set([...referencedIdsOf(message), ...(message.messageId ? [message.messageId] : [])]),
    ];
    const wanted = [...new Set(messages.flatMap(idsOf))];
    // Every Message-ID known to belong to a thread: stored messages' own ids and the ids they reply to.
    const threadOfId = new Map<string, string>();
    if (wanted.length > 0) {
      const own = await this.lookups.threadsOfMessages(accountId, wanted);
      const referrers = await this.lookups.threadsOfReferrers(accountId, wanted);
      for (const [id, threadId] of referrers) threadOfId.set(id, current(threadId));
      for (const [id, threadId] of own) threadOfId.set(id, current(threadId));
      for (const earlierLayer of earlier) {
        for (const id of wanted) {
          const threadId = earlierLayer.threadOfId.get(id);
          if (threadId !== undefined) threadOfId.set(id, current(threadId));
        }
      }
    }
    const threads = new Map<number, string>();
    for (const message of messages) {
      const ids = idsOf(message);
      const found = [
        ...new Set(
          ids
            .map((id) => threadOfId.get(id))
            .filter((id): id is string => id !== undefined)
            .map(current),
        ),
      ];
      let candidate: string | undefined = found[0];
      const subject = baseSubject(message.subject);
      if (
        !candidate &&
        !message.inReplyTo &&
        message.references.length === 0 &&
        REPLY_PREFIX.test(message.subject ?? '')
      ) {
        candidate = await this.threadBySubject(accountId, subject, earlier);
        if (candidate !== undefined) candidate = current(candidate);
      }
      const threadId = candidate ?? randomUUID();
      for (const loser of found.slice(1)) layer.merged.set(loser, threadId);
      threads.set(message.uid, threadId);
      for (const id of ids) threadOfId.set(id, threadId);
      const latest = layer.latestBySubject.get(subject);
      if (subject !== '' && (!latest || latest.receivedAt <= message.receivedAt.getTime())) {
        layer.latestBySubject.set(subject, { threadId, receivedAt: message.receivedAt.getTime() });
      }
    }
    for (const [uid, threadId] of threads) threads.set(uid, current(threadId));
    for (const [id, threadId] of threadOfId) layer.threadOfId.set(id, current(threadId));
    for (const latest of layer.latestBySubject.values()) latest.threadId = current(latest.threadId);
    const merges = [...layer.merged.keys()].map((loser) => ({ loser, winner: current(loser) }));
    return { threads, merges };
  }

  /** The thread of the latest message (stored, or decided by an earlier batch) with the same base subject. */
  private async threadBySubject(
    accountId: string,
    subject: string,
    earlier: ThreadLayer[],
  ): Promise<string | undefined> {
    if (subject === '') return undefined;
    let best = await this.lookups.latestWithBaseSubject(accountId, subject, REPLY_PREFIX);
    for (const layer of earlier) {
      const latest = layer.latestBySubject.get(subject);
      if (latest && (!best || latest.receivedAt >= best.receivedAt)) best = latest;
    }
    return best?.threadId;
  }
}
