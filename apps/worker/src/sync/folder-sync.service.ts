import { AppConfig } from '@app/config';
import { FolderRepository, MessageRepository } from '@app/database';
import type { FlagChange, FolderPosition, FolderProgress, MailFolder, SyncedMessage, UidRange } from '@app/database';
import { MimeParserPool, sourceStreamOf, withTimeout } from '@app/mail';
import type { ImapSession, ParseOutcome } from '@app/mail';
import { JobName, JobProducer } from '@app/queue';
import { Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import type { ExpungeEvent, FetchMessageObject, StatusObject } from 'imapflow';

import { BatchSequence, MessageBatchWriter } from './message-batch-writer.js';
import { flagsOf, toSyncedMessage } from './message-mapper.js';
import { chunk, groupBySize, growingChunks, missingUidSet, toUidSet } from './uid-set.js';

/** Messages whose metadata one FETCH asks for. */
const META_BATCH = 500;
/**
 * The first FETCH of a folder's new mail: one screen of the newest messages, stored in one small
 * transaction so a client lists them while the rest is still arriving. Later FETCHes double up
 * to META_BATCH, where per-batch costs stop mattering.
 */
const FIRST_META_BATCH = 50;
/**
 * One write transaction: at most this many messages, or this many source bytes. Each batch costs
 * a transaction and its thread lookups, so batches are as large as the byte bound allows.
 */
const WRITE_BATCH_COUNT = 500;
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;
/** Larger messages are stored from their envelope and parsed by a parse-message job of their own. */
const MAX_INLINE_SOURCE = 24 * 1024 * 1024;
/**
 * Larger sources are parsed as they are read, in chunks, instead of fetched whole: a worker holds
 * a few chunks of each large message, not the message (and the copies fetching and handing it to
 * a parser thread make), so its memory does not grow with the mail it syncs.
 */
const STREAMED_SOURCE_ABOVE = 1024 * 1024;
/** Stored UIDs compared with the server per round of a UID diff. */
const DIFF_CHUNK = 2_000;
/** Fetched sources whose parse and write may be in flight while the next group is fetched. */
const PIPELINE_DEPTH = 3;
/**
 * Source bytes those groups may hold together. A source costs several times its size while it is
 * parsed (the copy the parser thread gets, decoded parts, the texts kept), so large mail goes
 * through one group at a time instead of three.
 */
const PIPELINE_BYTES = 12 * 1024 * 1024;

export interface ServerCapabilities {
  condstore: boolean;
  qresync: boolean;
}

export interface FolderSyncRequest {
  session: ImapSession;
  tenantId: string;
  accountId: string;
  folder: MailFolder;
  status: StatusObject | undefined;
  capabilities: ServerCapabilities;
  full: boolean;
  parse: boolean;
  signal: AbortSignal;
}

export interface FolderSyncStats {
  skipped: boolean;
  rebuilt: boolean;
  added: number;
  updated: number;
  removed: number;
}

interface FetchedGroup {
  metas: FetchMessageObject[];
  sources: Map<number, Buffer>;
  /** Messages whose source is parsed as it is read (see STREAMED_SOURCE_ABOVE). */
  streamed: Set<number>;
  headers: Map<number, Buffer>;
}

/**
 * Brings one folder's rows in line with the server, choosing the cheapest exact strategy from the
 * stored counters: skip when nothing moved, rebuild on a new UIDVALIDITY, otherwise fetch new UIDs
 * in batches and reconcile flags and removals (CONDSTORE/QRESYNC when offered, a UID diff when not).
 */
@Injectable()
export class FolderSyncService implements OnApplicationBootstrap {
  /** Per session, the streamed parse the next one waits for (see parseStreamed). */
  private readonly streamingTurns = new WeakMap<ImapSession, Promise<ParseOutcome | null>>();

  constructor(
    private readonly config: AppConfig,
    private readonly folders: FolderRepository,
    private readonly messages: MessageRepository,
    private readonly batches: MessageBatchWriter,
    private readonly parser: MimeParserPool,
    private readonly producer: JobProducer,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.features.emailParsing) this.parser.start();
  }

  /** Same UIDNEXT, HIGHESTMODSEQ and count as stored: nothing was added, changed or removed (RFC 7162 section 3.1.2.1). */
  isUnchanged(folder: MailFolder, status: StatusObject | undefined, capabilities: ServerCapabilities): boolean {
    if (!status || !capabilities.condstore || folder.uidValidity === null || folder.highestModseq === null)
      return false;
    return (
      status.uidValidity?.toString() === folder.uidValidity &&
      status.uidNext?.toString() === folder.uidNext &&
      status.highestModseq?.toString() === folder.highestModseq &&
      status.messages === folder.messageCount
    );
  }

  async sync(request: FolderSyncRequest): Promise<FolderSyncStats> {
    const stats: FolderSyncStats = { skipped: false, rebuilt: false, added: 0, updated: 0, removed: 0 };
    const { folder, session } = request;
    if (!request.full && this.isUnchanged(folder, request.status, request.capabilities)) {
      return { ...stats, skipped: true };
    }
    const client = session.client;
    const timeoutMs = this.config.mail.imapTimeoutMs;
    const lock = await withTimeout(
      'mailbox lock',
      timeoutMs,
      client.getMailboxLock(folder.path, { readOnly: true, acquireTimeout: timeoutMs }),
      () => client.close(),
    );
    const vanished = new Set<number>();
    const onExpunge = (event: ExpungeEvent): void => {
      if (event.path === folder.path && event.vanished && event.uid !== undefined) vanished.add(event.uid);
    };
    client.on('expunge', onExpunge);
    try {
      const mailbox = client.mailbox;
      if (!mailbox) throw new Error(`folder ${folder.path} could not be opened`);
      const uidValidity = mailbox.uidValidity.toString();
      // Captured before fetching: changes made while this sync runs are picked up by the next one.
      const startModseq = mailbox.highestModseq?.toString() ?? null;
      const startUidNext = String(mailbox.uidNext);
      const startExists = mailbox.exists;

      let storedModseq = folder.highestModseq;
      let stored = request.full ? [] : await this.folders.storedUids(folder.id);
      if (folder.uidValidity !== uidValidity) {
        // RFC 3501 section 2.3.1.1: a new UIDVALIDITY invalidates every stored UID of this folder.
        stats.rebuilt = folder.uidValidity !== null;
        stats.removed += await this.folders.resetForUidValidity(folder.id, uidValidity);
        storedModseq = null;
        stored = [];
      }
      const lastUid = stored.at(-1)?.last ?? 0;
      await this.folders.beginSync(folder.id, mailbox.uidNext, startExists);
      const position: FolderPosition = { folderId: folder.id, accountId: request.accountId, uidValidity };
      const condstore = request.capabilities.condstore && startModseq !== null && !mailbox.noModseq;

      let removalsKnown = false;
      if (lastUid > 0) {
        if (condstore && storedModseq !== null && !request.full) {
          stats.updated += await this.fetchFlagChanges(request, position, lastUid, BigInt(storedModseq));
          if (request.capabilities.qresync) {
            stats.removed += await this.messages.removeUids(
              position,
              [...vanished].filter((uid) => uid <= lastUid),
            );
            removalsKnown = true;
          }
        } else {
          const diff = await this.compareFlagsAndUids(request, position, lastUid);
          stats.updated += diff.updated;
          stats.removed += diff.removed;
          removalsKnown = true;
        }
      }

      const fetched = await this.fetchNewMessages(request, position, stored, {
        uidNext: mailbox.uidNext,
        // Stored rows are reconciled above, so their flags are as recent as the run's start; a
        // full re-sync skips that step and rewrites the rows one batch at a time instead.
        flagsKnownAt: request.full ? null : startModseq,
      });
      stats.added += fetched.added;
      stats.updated += fetched.updated;

      if (!removalsKnown) {
        const stored = await this.messages.countInFolder(position);
        // Every server UID below the starting UIDNEXT is stored now, so equal counts mean equal sets.
        if (stored > (client.mailbox ? client.mailbox.exists : startExists))
          stats.removed += await this.diffUids(request, position);
      }

      await this.folders.markSynced(folder.id, {
        uidValidity,
        uidNext: startUidNext,
        highestModseq: startModseq,
        messageCount: startExists,
        unseenCount: request.status?.unseen ?? folder.unseenCount,
      });
      return stats;
    } finally {
      client.off('expunge', onExpunge);
      lock.release();
    }
  }

  /** CONDSTORE (RFC 7162 section 3.1.4): only messages whose modseq moved; with QRESYNC also VANISHED UIDs. */
  private async fetchFlagChanges(
    request: FolderSyncRequest,
    position: FolderPosition,
    lastUid: number,
    since: bigint,
  ): Promise<number> {
    const client = request.session.client;
    const changes = await withTimeout(
      'flag fetch',
      this.config.mail.imapTimeoutMs * 4,
      client.fetchAll(`1:${lastUid}`, { uid: true, flags: true }, { uid: true, changedSince: since }),
      () => client.close(),
    );
    let updated = 0;
    for (const part of chunk(changes, DIFF_CHUNK)) {
      updated += await this.messages.updateFlags(
        position,
        part.map((meta): FlagChange => ({
          uid: meta.uid,
          flags: flagsOf(meta),
          modseq: meta.modseq?.toString() ?? null,
        })),
      );
    }
    return updated;
  }

  /**
   * Without usable modseqs: walks the stored UIDs in chunks and asks the server for the flags of
   * the same UID range. What the server no longer returns was expunged; differing flags changed.
   */
  private async compareFlagsAndUids(
    request: FolderSyncRequest,
    position: FolderPosition,
    lastUid: number,
  ): Promise<{ updated: number; removed: number }> {
    const client = request.session.client;
    let after = 0;
    let updated = 0;
    let removed = 0;
    for (;;) {
      this.throwIfAborted(request.signal);
      const stored = await this.messages.uidsAfter(position, after, DIFF_CHUNK);
      if (stored.length === 0) break;
      const low = stored[0] ?? 1;
      const high = Math.min(stored.at(-1) ?? lastUid, lastUid);
      after = stored.at(-1) ?? after;
      const server = await withTimeout(
        'flag fetch',
        this.config.mail.imapTimeoutMs * 2,
        client.fetchAll(`${low}:${high}`, { uid: true, flags: true }, { uid: true }),
        () => client.close(),
      );
      const onServer = new Map(server.map((meta) => [meta.uid, flagsOf(meta)]));
      const gone = stored.filter((uid) => uid <= lastUid && !onServer.has(uid));
      removed += await this.messages.removeUids(position, gone);
      const storedFlags = await this.messages.flagsOf(position, stored);
      const changes: FlagChange[] = [];
      for (const [uid, flags] of onServer) {
        const before = storedFlags.get(uid);
        if (before && before.join(' ') !== flags.join(' ')) changes.push({ uid, flags, modseq: null });
      }
      updated += await this.messages.updateFlags(position, changes);
      if (stored.length < DIFF_CHUNK) break;
    }
    return { updated, removed };
  }

  /** UID SEARCH per chunk of stored UIDs (RFC 3501 section 6.4.4): what the server lacks was expunged. */
  private async diffUids(request: FolderSyncRequest, position: FolderPosition): Promise<number> {
    const client = request.session.client;
    let after = 0;
    let removed = 0;
    for (;;) {
      this.throwIfAborted(request.signal);
      const stored = await this.messages.uidsAfter(position, after, DIFF_CHUNK);
      if (stored.length === 0) break;
      after = stored.at(-1) ?? after;
      const found = await withTimeout(
        'uid search',
        this.config.mail.imapTimeoutMs,
        client.search({ uid: `${stored[0]}:${after}` }, { uid: true }),
        () => client.close(),
      );
      const present = new Set(found || []);
      removed += await this.messages.removeUids(
        position,
        stored.filter((uid) => !present.has(uid)),
      );
      if (stored.length < DIFF_CHUNK) break;
    }
    return removed;
  }

  /**
   * The server's UIDs in no stored range, newest first: a first screen of FIRST_META_BATCH, then
   * growing FETCHes, each split into groups bounded by count and bytes. Fetching group n+1 overlaps
   * with parsing and writing group n, and the write of group n+1 with the end of group n's: each
   * group is one transaction with the UID range it covers, committed in fetch order
   * (BatchSequence), so a killed run leaves exactly the ranges it stored and the next one fetches
   * the rest.
   */
  private async fetchNewMessages(
    request: FolderSyncRequest,
    position: FolderPosition,
    stored: readonly UidRange[],
    start: { uidNext: number; flagsKnownAt: string | null },
  ): Promise<{ added: number; updated: number }> {
    const client = request.session.client;
    const timeoutMs = this.config.mail.imapTimeoutMs;
    const found = await withTimeout(
      'uid search',
      timeoutMs,
      client.search({ uid: missingUidSet(stored) }, { uid: true }),
      () => client.close(),
    );
    // A refused SEARCH comes back as false; read as "nothing missing", the folder would be marked
    // complete below UIDNEXT and the messages it did not list never fetched.
    if (!found) throw new Error(`the server refused UID SEARCH in ${request.folder.path}`);
    const isStored = (uid: number): boolean => stored.some((range) => range.first <= uid && uid <= range.last);
    // "n:*" always matches the newest message, even when its UID is below n (RFC 3501 section 6.4.8).
    const uids = found.filter((uid) => !isStored(uid)).sort((a, b) => b - a);
    const totals = { added: 0, updated: 0 };
    const sequence = new BatchSequence();
    const inFlight: { write: Promise<void>; bytes: number }[] = [];
    let bytesInFlight = 0;
    const settleOldest = async (): Promise<void> => {
      const oldest = inFlight.shift();
      if (!oldest) return;
      bytesInFlight -= oldest.bytes;
      await oldest.write;
    };
    let previousHandedOver: Promise<void> = Promise.resolve();
    // Each group covers the UIDs from its lowest up to the group before it: the messages expunged
    // in between are gone from the server, so they count as stored too. Mail delivered while this
    // runs gets UIDs above both the starting UIDNEXT and every UID found.
    let coveredUpTo = Math.max(start.uidNext - 1, uids[0] ?? 0);

    try {
      for (const metaUids of growingChunks(uids, FIRST_META_BATCH, META_BATCH)) {
        this.throwIfAborted(request.signal);
        const metas = await withTimeout(
          'fetch',
          timeoutMs * 2,
          client.fetchAll(
            toUidSet(metaUids),
            // With parsing on, mailparser reads everything ENVELOPE and BODYSTRUCTURE would give from
            // the source; they are fetched only for the few messages it cannot parse.
            request.parse
              ? { uid: true, flags: true, internalDate: true, size: true }
              : {
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
        metas.sort((a, b) => b.uid - a.uid);
        for (const group of groupBySize(
          metas,
          (meta) => ((meta.size ?? 0) <= STREAMED_SOURCE_ABOVE ? (meta.size ?? 0) : 0),
          WRITE_BATCH_BYTES,
          WRITE_BATCH_COUNT,
        )) {
          this.throwIfAborted(request.signal);
          const lowest = group.at(-1)?.uid ?? 1;
          const covered: UidRange = { first: lowest, last: coveredUpTo };
          coveredUpTo = lowest - 1;
          const fetched = await this.fetchGroup(request, group);
          let handedOver: () => void = () => undefined;
          const handOver = new Promise<void>((resolve) => (handedOver = resolve));
          const write = this.parseAndWrite(
            request,
            position,
            fetched,
            { covered, flagsKnownAt: start.flagsKnownAt },
            { sequence, after: previousHandedOver, handedOver },
            totals,
          );
          // Rejections are observed by the awaits below.
          write.catch(() => undefined);
          previousHandedOver = handOver;
          const bytes = [...fetched.sources.values()].reduce((total, source) => total + source.length, 0);
          inFlight.push({ write, bytes });
          bytesInFlight += bytes;
          while (inFlight.length >= PIPELINE_DEPTH || (inFlight.length > 0 && bytesInFlight >= PIPELINE_BYTES))
            await settleOldest();
        }
      }
      while (inFlight.length > 0) await settleOldest();
    } finally {
      // A failed group fails every later one; none may still be writing once this returns.
      await Promise.allSettled(inFlight.map((entry) => entry.write));
    }
    return totals;
  }

  private async fetchGroup(request: FolderSyncRequest, metas: FetchMessageObject[]): Promise<FetchedGroup> {
    const client = request.session.client;
    const sources = new Map<number, Buffer>();
    const headers = new Map<number, Buffer>();
    const streamed = new Set<number>();
    for (const meta of metas) if (meta.headers) headers.set(meta.uid, meta.headers);
    if (!request.parse) return { metas, sources, streamed, headers };
    const inline = metas.filter((meta) => (meta.size ?? 0) <= STREAMED_SOURCE_ABOVE).map((meta) => meta.uid);
    for (const meta of metas) {
      const size = meta.size ?? 0;
      if (size > STREAMED_SOURCE_ABOVE && size <= MAX_INLINE_SOURCE) streamed.add(meta.uid);
    }
    const oversized = metas.filter((meta) => (meta.size ?? 0) > MAX_INLINE_SOURCE).map((meta) => meta.uid);
    if (inline.length > 0) {
      const bodies = await withTimeout(
        'fetch',
        this.config.mail.imapTimeoutMs * 4,
        client.fetchAll(toUidSet(inline), { uid: true, source: true }, { uid: true }),
        () => client.close(),
      );
      for (const body of bodies) if (body.source) sources.set(body.uid, body.source);
    }
    if (oversized.length > 0) {
      const heads = await withTimeout(
        'fetch',
        this.config.mail.imapTimeoutMs * 2,
        client.fetchAll(toUidSet(oversized), { uid: true, headers: true }, { uid: true }),
        () => client.close(),
      );
      for (const head of heads) if (head.headers) headers.set(head.uid, head.headers);
    }
    return { metas, sources, streamed, headers };
  }

  /**
   * Parses a message as its source is read, after the session's previous streamed message: two
   * sources read in alternating partial FETCHes on one connection took Dovecot twice as long as
   * the same two read one after the other.
   */
  private async parseStreamed(request: FolderSyncRequest, uid: number): Promise<ParseOutcome | null> {
    const previous = this.streamingTurns.get(request.session) ?? Promise.resolve(null);
    const turn = previous
      .catch(() => null)
      .then(() =>
        this.parser.parseStream(sourceStreamOf(request.session.client, uid, this.config.mail.imapTimeoutMs * 2)),
      );
    this.streamingTurns.set(request.session, turn);
    return turn;
  }

  private async parseAndWrite(
    request: FolderSyncRequest,
    position: FolderPosition,
    group: FetchedGroup,
    progress: FolderProgress,
    order: { sequence: BatchSequence; after: Promise<void>; handedOver: () => void },
    totals: { added: number; updated: number },
  ): Promise<void> {
    let handedOver = false;
    const handOver = (): void => {
      handedOver = true;
      order.handedOver();
    };
    try {
      await this.parseAndWriteInOrder(request, position, group, progress, { ...order, handedOver: handOver }, totals);
    } catch (error: unknown) {
      if (!handedOver) {
        // In its place in the order, so the groups before it still commit and none after it does.
        await order.after;
        order.sequence.fail(error);
      }
      throw error;
    } finally {
      order.handedOver();
    }
  }

  private async parseAndWriteInOrder(
    request: FolderSyncRequest,
    position: FolderPosition,
    group: FetchedGroup,
    progress: FolderProgress,
    order: { sequence: BatchSequence; after: Promise<void>; handedOver: () => void },
    totals: { added: number; updated: number },
  ): Promise<void> {
    const outcomes = await Promise.all(
      group.metas.map(async (meta) => {
        const source = group.sources.get(meta.uid) ?? null;
        if (source) return { meta, source, outcome: await this.parser.parse(source) };
        if (group.streamed.has(meta.uid)) return { meta, source, outcome: await this.parseStreamed(request, meta.uid) };
        return { meta, source, outcome: null };
      }),
    );
    const needEnvelope = outcomes
      .filter(({ meta, outcome }) => !meta.envelope && !outcome?.ok)
      .map(({ meta }) => meta.uid);
    const envelopes = new Map<number, FetchMessageObject>();
    if (needEnvelope.length > 0) {
      // Every fetch before this one has completed (fetchAll), so the connection is free for it.
      const client = request.session.client;
      const fetched = await withTimeout(
        'fetch',
        this.config.mail.imapTimeoutMs * 2,
        client.fetchAll(
          toUidSet(needEnvelope),
          { uid: true, envelope: true, bodyStructure: true, headers: true },
          { uid: true },
        ),
        () => client.close(),
      );
      for (const meta of fetched) envelopes.set(meta.uid, meta);
    }
    const rows: SyncedMessage[] = outcomes.map(({ meta, source, outcome }) => {
      const extra = envelopes.get(meta.uid);
      const merged: FetchMessageObject = extra
        ? { ...meta, envelope: extra.envelope, bodyStructure: extra.bodyStructure }
        : meta;
      return toSyncedMessage(merged, source, outcome, group.headers.get(meta.uid) ?? extra?.headers ?? null);
    });
    // Groups reach the sequence in fetch order, whichever finished parsing first.
    await order.after;
    this.throwIfAborted(request.signal);
    const written = this.batches.write(position, rows, progress, order.sequence);
    order.handedOver();
    const result = await written;
    totals.added += result.inserted;
    totals.updated += result.updated;
    if (request.parse) {
      const pending = rows.filter((row) => row.parseState === 'envelope');
      for (const row of pending) {
        const messageId = result.idsByUid.get(row.uid);
        if (messageId) await this.producer.enqueue(JobName.ParseMessage, { tenantId: request.tenantId, messageId });
      }
    }
  }

  private throwIfAborted(signal: AbortSignal): void {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('sync aborted');
  }
}
