import { MessageRepository, SendDeliveryReportRepository } from '@app/database';
import type { BatchWriteResult, FolderPosition, FolderProgress, SyncedMessage } from '@app/database';
import { TenantScope } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

import { emptyThreadLayer, ThreadResolver } from './threading/index.js';
import type { ThreadLayer, ThreadResolution } from './threading/index.js';

/**
 * The batches of one folder sync, written in the order they are handed to `write`: each batch
 * waits for the previous one's thread decisions and for its commit, nothing else.
 */
export class BatchSequence {
  resolved: Promise<void> = Promise.resolve();
  committed: Promise<void> = Promise.resolve();
  readonly layers: ThreadLayer[] = [];

  /** A batch that failed before it was written: no batch after it may commit. */
  fail(error: unknown): void {
    const failed = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    failed.catch(() => undefined);
    this.committed = failed;
  }
}

/**
 * Writes the batches of a folder sync. Each batch is one transaction: its threads, its rows, what
 * its bounce notices say about the account's sends, the threads it merged and the folder's
 * progress. The repositories called inside it join that transaction (TenantScope), so a batch
 * costs the same round trips as one repository call would.
 */
@Injectable()
export class MessageBatchWriter {
  constructor(
    private readonly scope: TenantScope,
    private readonly threads: ThreadResolver,
    private readonly messages: MessageRepository,
    private readonly deliveryReports: SendDeliveryReportRepository,
  ) {}

  /**
   * Writes one batch in its own transaction. Batches of one `sequence` overlap: a batch resolves
   * its threads once the batch before it has (seeing that batch's assignments before they are
   * committed), inserts its rows while earlier batches are still writing, and commits only after
   * the batch before it committed, rolling back if that one failed. The folder's progress (the UID
   * range the batch covers) moves in the same transaction, so what is committed is always a prefix
   * of the batches in call order, and the stored ranges say exactly which UIDs a resumed run skips.
   */
  async write(
    position: FolderPosition,
    messages: SyncedMessage[],
    progress: FolderProgress,
    sequence = new BatchSequence(),
  ): Promise<BatchWriteResult> {
    const previousResolved = sequence.resolved;
    const previousCommitted = sequence.committed;
    let markResolved: () => void = () => undefined;
    sequence.resolved = new Promise<void>((resolve) => (markResolved = resolve));
    const layer = emptyThreadLayer();
    const work = this.scope.transaction(async () => {
      const ordered = [...messages].sort((a, b) => a.uid - b.uid);
      let resolution: ThreadResolution;
      try {
        await previousResolved;
        resolution = await this.threads.resolve(position.accountId, ordered, [...sequence.layers], layer);
        sequence.layers.push(layer);
      } finally {
        markResolved();
      }
      const result = await this.messages.storeBatch(position, ordered, resolution.threads);
      // Bounces commit with the notices that report them, so a re-run finds them recorded or records them then.
      await this.deliveryReports.record(
        position.accountId,
        ordered.flatMap((message) => message.deliveryReport ?? []),
      );
      try {
        await previousCommitted;
      } catch (earlier: unknown) {
        // The cause tells callers why, e.g. that the database went away rather than the batch being bad.
        throw new Error(
          'an earlier batch of this sync failed; this one is rolled back to keep the folder progress exact',
          { cause: earlier },
        );
      }
      // Rows of earlier batches are visible only now that they are committed.
      await this.messages.mergeThreads(position.accountId, resolution.merges);
      await this.messages.advanceFolder(position, progress, result.inserted);
      return result;
    });
    // A transaction that never started must not hold back the batches after it.
    void work.catch(() => markResolved());
    const committed = work.then(() => undefined);
    committed.catch(() => undefined);
    sequence.committed = committed;
    try {
      return await work;
    } finally {
      // Once committed, PostgreSQL answers for this batch's threads itself.
      const index = sequence.layers.indexOf(layer);
      if (index !== -1) sequence.layers.splice(index, 1);
    }
  }
}
