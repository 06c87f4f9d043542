import { MetricsModule } from '@app/observability';
import { Module } from '@nestjs/common';

import { MetricsController } from './metrics.controller.js';

@Module({
  imports: [MetricsModule.forApp('api')],
  controllers: [MetricsController],
})
export class ApiMetricsModule {}
