import { MetricsRegistry } from '@app/observability';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';

import { Public } from '../../auth/public.decorator.js';

@ApiTags('metrics')
@Public()
// Prometheus scrapes on a schedule from a fixed address; a scrape must never be rate limited.
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get()
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format, summed over all API processes of this replica' })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.exposition();
    void reply.header('content-type', this.metrics.contentType);
    return text;
  }
}
