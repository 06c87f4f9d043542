import { AppConfig } from '@app/config';
import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';

import { JobProducer } from './job-producer.js';
import { QueueName } from './queue-names.js';

const QUEUES = Object.values(QueueName).map((name) => ({ name }));

/** The queues and their producer; the worker adds its processors on top of this module. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: { url: config.redis.queueUrl, maxRetriesPerRequest: null },
        prefix: `${config.redis.keyPrefix}:queue`,
      }),
    }),
    BullModule.registerQueue(...QUEUES),
  ],
  providers: [JobProducer],
  exports: [BullModule, JobProducer],
})
export class QueueModule {}
