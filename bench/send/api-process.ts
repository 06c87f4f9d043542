/**
 * The API's part of a send, in a process of its own as in a deployment: per request the global
 * ValidationPipe turns the JSON body into a ComposeMessageDto, and SendsService.sendMessage does
 * what POST /api/compose does (Idempotency-Key fingerprint, account lookup, send record, enqueue).
 * Requests are kept `concurrency` at a time in flight, like that many clients waiting for their
 * 202. Not included: HTTP parsing and the bearer-token check, which do not depend on sending.
 */
import { ConfigModule, loadConfig } from '@app/config';
import type { AppConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { QueueModule } from '@app/queue';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module, ValidationPipe } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { ComposeMessageDto } from '../../apps/api/src/modules/sends/dto/compose-message.dto.js';
import { SendRequestBatches } from '../../apps/api/src/modules/sends/send-request-batches.js';
import { SendsService } from '../../apps/api/src/modules/sends/sends.service.js';
import { UploadsService } from '../../apps/api/src/modules/uploads/uploads.service.js';
import { cpuMsSince, epochMs } from './clock.js';
import { messageBody } from './message-body.js';

export interface ApiRequest {
  type: 'send';
  tenantId: string;
  accountIds: string[];
  count: number;
  concurrency: number;
  /** Idempotency-Keys are `${keyPrefix}-${index}`. */
  keyPrefix: string;
}
export type ApiReply =
  | { type: 'ready' }
  | { type: 'sent'; startedAt: number; finishedAt: number; cpuMs: number; messageIds: string[]; replayed: number };

@Module({})
class ApiPartModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiPartModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('email_service-bench-send-api'),
        TenancyModule,
        QueueModule,
      ],
      providers: [UploadsService, SendsService, SendRequestBatches],
    };
  }
}

const config = loadConfig(process.env);
const app = await NestFactory.createApplicationContext(ApiPartModule.forRoot(config), { logger: ['error'] });
const tenant = app.get(TenantContext);
const sends = app.get(SendsService);
const pipe = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });

async function sendAll(request: ApiRequest): Promise<ApiReply> {
  const messageIds: string[] = new Array<string>(request.count);
  let replayed = 0;
  let next = 0;
  const client = async (): Promise<void> => {
    for (let index = next++; index < request.count; index = next++) {
      const json = {
        accountId: request.accountIds[index % request.accountIds.length],
        to: ['Sink <sink@sink.example>'],
        ...messageBody(index),
      };
      const dto = (await pipe.transform(json, { type: 'body', metatype: ComposeMessageDto })) as ComposeMessageDto;
      const result = await tenant.run(request.tenantId, () => sends.sendMessage(dto, `${request.keyPrefix}-${index}`));
      if (!result.created) replayed += 1;
      messageIds[index] = result.record.messageId;
    }
  };
  const startedAt = epochMs();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: request.concurrency }, () => client()));
  return { type: 'sent', startedAt, finishedAt: epochMs(), cpuMs: cpuMsSince(cpu), messageIds, replayed };
}

process.on('message', (request: ApiRequest | { type: 'stop' }) => {
  if (request.type === 'stop') {
    void app.close().then(() => process.exit(0));
    return;
  }
  sendAll(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) => {
      process.stderr.write(`api part failed: ${String(error instanceof Error ? error.stack : error)}\n`);
      process.exit(1);
    },
  );
});
process.send?.({ type: 'ready' } satisfies ApiReply);

// Never outlive the benchmark, also when it dies before stopping this process.
process.on('disconnect', () => process.exit(1));
