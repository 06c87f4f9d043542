import { loadConfigOrExit } from '@app/config';
import { DependencyHealthService, listenForProbes, MetricsRegistry } from '@app/observability';
import { assertEveryJobHasOneHandler, JobHandlerRegistrationError, JobName } from '@app/queue';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';

import { PROCESSORS } from './processors/index.js';
import { WorkerModule } from './worker.module.js';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  try {
    assertEveryJobHasOneHandler(Object.values(JobName), PROCESSORS);
  } catch (error: unknown) {
    if (!(error instanceof JobHandlerRegistrationError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(70);
  }

  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.enableShutdownHooks();

  const health = app.get(DependencyHealthService);
  if (config.worker.healthPort > 0) {
    const server = await listenForProbes(
      { health, metrics: app.get(MetricsRegistry) },
      config.http.host,
      config.worker.healthPort,
    );
    process.once('SIGTERM', () => server.close());
  }
  const report = await health.check();
  logger.log(
    { checks: report.checks, processors: PROCESSORS.map((processor) => processor.name) },
    `Worker up (${report.status})`,
    'WorkerBootstrap',
  );
}

await bootstrap();
