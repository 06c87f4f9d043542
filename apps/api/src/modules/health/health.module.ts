import { HealthCheckModule } from '@app/observability';
import { Module } from '@nestjs/common';

import { HealthController } from './health.controller.js';

@Module({
  imports: [HealthCheckModule.forApp('api')],
  controllers: [HealthController],
})
export class HealthModule {}
