import cluster from 'node:cluster';

import { loadConfigOrExit } from '@app/config';
import { answerClusterScrapes } from '@app/observability';
import type { AppConfig } from '@app/config';

import { createApiApp } from './api-app.factory.js';

/**
 * With API_WORKERS > 1 the primary only supervises: it forks that many API processes sharing the
 * port and replaces any that die, unless it is shutting down itself.
 */
function superviseWorkers(config: AppConfig): void {
  let stopping = false;
  const fork = (): void => {
    cluster.fork({ UV_THREADPOOL_SIZE: String(config.http.threadsPerWorker) });
  };
  answerClusterScrapes();
  for (let i = 0; i < config.http.workers; i += 1) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    process.stderr.write(`API process ${worker.process.pid} exited (${signal ?? code}); starting a replacement\n`);
    fork();
  });
  const stop = (signal: NodeJS.Signals): void => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  if (cluster.isPrimary && config.http.workers > 1) {
    superviseWorkers(config);
    return;
  }
  const app = await createApiApp(config);
  await app.listen(config.http.port, config.http.host);
}

await bootstrap();
