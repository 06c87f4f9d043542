import { loadConfigOrExit } from '@app/config';
import { DependencyHealthService, listenForProbes, MetricsRegistry } from '@app/observability';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';

import { SchedulerModule } from './scheduler.module.js';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await NestFactory.createApplicationContext(SchedulerModule.forRoot(config), { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.enableShutdownHooks();

  const health = app.get(DependencyHealthService);
  if (config.scheduler.healthPort > 0) {
    const server = await listenForProbes(
      { health, metrics: app.get(MetricsRegistry) },
      config.http.host,
      config.scheduler.healthPort,
    );
    process.once('SIGTERM', () => server.close());
  }
  const report = await health.check();
  logger.log(
    { checks: report.checks, syncCron: config.scheduler.syncCron },
    `Scheduler up (${report.status})`,
    'SchedulerBootstrap',
  );
}

await bootstrap();
