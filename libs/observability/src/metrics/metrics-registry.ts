import cluster from 'node:cluster';

import { Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

import { ClusterScrapeClient } from './cluster-scrape.js';

/**
 * The metrics of one app process, in two registries:
 * - `perProcess`: what this process counts or holds (requests, jobs, its connection pool, CPU and
 *   memory). In an API cluster every process reports these and the scrape sums them.
 * - `shared`: state read from a store every process sees alike (queue depth in Redis), reported
 *   once by the process that answers the scrape, never summed.
 */
@Injectable()
export class MetricsRegistry implements OnApplicationShutdown {
  readonly perProcess = new Registry();
  readonly shared = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly cluster: ClusterScrapeClient | null;

  constructor() {
    collectDefaultMetrics({ register: this.perProcess });
    this.cluster = cluster.isWorker ? new ClusterScrapeClient(this.perProcess) : null;
  }

  /** The Prometheus text exposition for the whole app: all processes of a cluster together. */
  async exposition(): Promise<string> {
    const [perProcess, shared] = await Promise.all([
      this.cluster ? this.cluster.scrape() : this.perProcess.metrics(),
      this.shared.metrics(),
    ]);
    return `${perProcess}${shared}`;
  }

  onApplicationShutdown(): void {
    this.cluster?.close();
  }
}
