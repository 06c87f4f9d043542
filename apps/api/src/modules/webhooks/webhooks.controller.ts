import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';

import {
  CreateWebhookDto,
  ListWebhookDeliveriesQueryDto,
  ListWebhooksQueryDto,
  UpdateWebhookDto,
} from './dto/webhook.dto.js';
import {
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
  WebhookDto,
  WebhookPageDto,
  WebhookWithSecretDto,
} from './dto/webhook-response.dto.js';
import { WebhooksService } from './webhooks.service.js';

const TARGET_REFUSED =
  '`code: "webhook_target_not_allowed"` when OUTBOUND_POLICY refuses the URL’s host or port (decided without connecting), `webhook_url_invalid` when its host does not resolve';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiCreatedResponse({ type: WebhookWithSecretDto, description: 'The secret is in this answer only' })
  @ApiBadRequestResponse({ description: TARGET_REFUSED })
  @ApiNotFoundResponse({ description: 'An account in accountIds does not exist' })
  async create(@Body() body: CreateWebhookDto): Promise<WebhookWithSecretDto> {
    const { webhook, secret } = await this.webhooks.create(body);
    return WebhookWithSecretDto.withSecret(webhook, secret);
  }

  @Get()
  @ApiOkResponse({ type: WebhookPageDto })
  async list(@Query() query: ListWebhooksQueryDto): Promise<WebhookPageDto> {
    const page = await this.webhooks.list(query.limit, query.cursor);
    return { items: page.items.map((webhook) => WebhookDto.from(webhook)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookDto })
  @ApiNotFoundResponse()
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookDto> {
    return WebhookDto.from(await this.webhooks.get(id));
  }

  @Put(':id')
  @ApiOkResponse({ type: WebhookDto })
  @ApiBadRequestResponse({ description: TARGET_REFUSED })
  @ApiNotFoundResponse()
  async update(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateWebhookDto): Promise<WebhookDto> {
    return WebhookDto.from(await this.webhooks.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its deliveries' })
  @ApiNotFoundResponse()
  async delete(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.webhooks.delete(id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({
    type: WebhookWithSecretDto,
    description: 'The new secret, in this answer only; the old one stops signing now',
  })
  @ApiNotFoundResponse()
  async rotateSecret(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookWithSecretDto> {
    const { webhook, secret } = await this.webhooks.rotateSecret(id);
    return WebhookWithSecretDto.withSecret(webhook, secret);
  }

  @Get(':id/deliveries')
  @ApiOkResponse({ type: WebhookDeliveryPageDto, description: 'Newest first' })
  @ApiNotFoundResponse()
  async listDeliveries(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: ListWebhookDeliveriesQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    const page = await this.webhooks.listDeliveries(id, query.limit, query.cursor);
    return { items: page.items.map((delivery) => WebhookDeliveryDto.from(delivery)), nextCursor: page.nextCursor };
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: WebhookDeliveryDto, description: 'Pending again, with the same event id' })
  @ApiNotFoundResponse()
  async redeliver(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('deliveryId', ParseUUIDPipe) deliveryId: string,
  ): Promise<WebhookDeliveryDto> {
    return WebhookDeliveryDto.from(await this.webhooks.redeliver(id, deliveryId));
  }
}
