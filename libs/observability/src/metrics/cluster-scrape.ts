import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';

import { AggregatorRegistry } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * A scrape of the API reaches one process of the Node cluster, chosen by the kernel. To answer
 * for all of them, that process asks the primary, which collects every listening process's
 * metrics over the cluster's IPC channel and merges them with prom-client's aggregation
 * (counters and histograms summed, gauges by their declared aggregator).
 */
const SCRAPE_REQUEST = 'email-service:metrics-scrape';
const SCRAPE_RESULT = 'email-service:metrics-scrape-result';
const COLLECT_REQUEST = 'email-service:metrics-collect';
const COLLECT_RESULT = 'email-service:metrics-collect-result';

/** Longer than any process needs to serialise its registry, shorter than a Prometheus scrape timeout (10 s). */
const COLLECT_TIMEOUT_MS = 4_000;

type CollectedMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface Message {
  type: string;
  requestId: number;
  text?: string;
  metrics?: CollectedMetrics;
  error?: string;
}

function isMessage(value: unknown, type: string): value is Message {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === type &&
    typeof (value as { requestId?: unknown }).requestId === 'number'
  );
}

/**
 * The other end may be gone (a process that exited mid-scrape); with a callback, a send on a
 * closed channel reports its error there instead of as an 'error' event that nobody handles.
 */
function sendTo(target: Pick<Worker, 'send'> | NodeJS.Process, message: object): void {
  target.send?.(message, undefined, undefined, () => undefined);
}

interface Collection {
  waitingFor: Set<number>;
  collected: CollectedMetrics[];
  finish(error: Error | null): void;
}

/**
 * Runs in the cluster primary. Only processes that listen are asked: one still booting has no
 * requests to report and would only make the scrape wait.
 */
export function answerClusterScrapes(): void {
  const listening = new Set<number>();
  const collections = new Map<number, Collection>();
  let nextCollection = 0;

  const settle = (collection: Collection): void => {
    if (collection.waitingFor.size === 0) collection.finish(null);
  };

  const collectAll = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const requestId = nextCollection++;
      const workers = [...listening]
        .map((id) => cluster.workers?.[id])
        .filter((worker): worker is Worker => worker?.isConnected() === true);
      const collection: Collection = {
        waitingFor: new Set(workers.map((worker) => worker.id)),
        collected: [],
        finish: (error) => {
          clearTimeout(timer);
          collections.delete(requestId);
          if (error) reject(error);
          else resolve(AggregatorRegistry.aggregate(collection.collected).metrics());
        },
      };
      const timer = setTimeout(
        () =>
          collection.finish(
            new Error(`API processes ${[...collection.waitingFor].join(', ')} did not report their metrics in time`),
          ),
        COLLECT_TIMEOUT_MS,
      );
      collections.set(requestId, collection);
      for (const worker of workers) sendTo(worker, { type: COLLECT_REQUEST, requestId });
      settle(collection);
    });

  cluster.on('listening', (worker) => listening.add(worker.id));
  cluster.on('exit', (worker) => {
    listening.delete(worker.id);
    // A process that died takes its counts with it; the scrape reports the ones still alive.
    for (const collection of collections.values()) {
      collection.waitingFor.delete(worker.id);
      settle(collection);
    }
  });
  cluster.on('message', (worker, message: unknown) => {
    if (isMessage(message, COLLECT_RESULT)) {
      const collection = collections.get(message.requestId);
      if (!collection?.waitingFor.delete(worker.id)) return;
      if (message.error !== undefined) {
        collection.finish(new Error(message.error));
        return;
      }
      collection.collected.push(message.metrics ?? []);
      settle(collection);
    } else if (isMessage(message, SCRAPE_REQUEST)) {
      const { requestId } = message;
      collectAll().then(
        (text) => sendTo(worker, { type: SCRAPE_RESULT, requestId, text }),
        (error: unknown) =>
          sendTo(worker, {
            type: SCRAPE_RESULT,
            requestId,
            error: error instanceof Error ? error.message : String(error),
          }),
      );
    }
  });
}

/** Runs in each API process of a cluster: reports its own registry and asks the primary for everyone's. */
export class ClusterScrapeClient {
  private readonly pending = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  private nextRequest = 0;
  private readonly onMessage = (message: unknown): void => {
    if (isMessage(message, COLLECT_REQUEST)) {
      const { requestId } = message;
      this.registry.getMetricsAsJSON().then(
        (metrics) => sendTo(process, { type: COLLECT_RESULT, requestId, metrics }),
        (error: unknown) =>
          sendTo(process, {
            type: COLLECT_RESULT,
            requestId,
            error: error instanceof Error ? error.message : String(error),
          }),
      );
    } else if (isMessage(message, SCRAPE_RESULT)) {
      const waiter = this.pending.get(message.requestId);
      this.pending.delete(message.requestId);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.text ?? '');
    }
  };

  constructor(private readonly registry: Registry) {
    process.on('message', this.onMessage);
  }

  /** The exposition text of every API process together. */
  scrape(): Promise<string> {
    const requestId = this.nextRequest++;
    return new Promise((resolve, reject) => {
      // The primary bounds its own collection; this only covers a primary that stopped answering.
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error('the cluster primary did not answer the metrics scrape'));
      }, COLLECT_TIMEOUT_MS * 2);
      this.pending.set(requestId, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      sendTo(process, { type: SCRAPE_REQUEST, requestId });
    });
  }

  close(): void {
    process.off('message', this.onMessage);
  }
}
