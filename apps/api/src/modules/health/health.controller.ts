import { DependencyHealthService } from '@app/observability';
import type { HealthReport } from '@app/observability';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';

import { Public } from '../../auth/public.decorator.js';
import { HealthReportDto } from './health-report.dto.js';

@ApiTags('health')
@Public()
// Load balancers and orchestrators probe constantly; their probes must never be rate limited.
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(private readonly health: DependencyHealthService) {}

  @Get()
  @ApiOkResponse({ type: HealthReportDto, description: 'PostgreSQL and Redis answer' })
  @ApiServiceUnavailableResponse({ type: HealthReportDto, description: 'A dependency is down; `checks` names it' })
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.health.check();
    void reply.status(report.status === 'healthy' ? 200 : 503);
    return report;
  }
}
