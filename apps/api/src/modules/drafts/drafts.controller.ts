import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiTags,
} from '@nestjs/swagger';

import { CreateDraftDto, ListDraftsQueryDto, UpdateDraftDto } from './dto/draft.dto.js';
import { DraftDto, DraftPageDto } from './dto/draft-response.dto.js';
import { DraftsService } from './drafts.service.js';

/** Drafts; under /api/compose with the sends and uploads. */
@ApiTags('compose')
@ApiBearerAuth()
@Controller('compose')
export class DraftsController {
  constructor(private readonly drafts: DraftsService) {}

  @Post('draft')
  @ApiCreatedResponse({ type: DraftDto })
  @ApiNotFoundResponse({ description: 'No such account' })
  @ApiPayloadTooLargeResponse()
  async createDraft(@Body() body: CreateDraftDto): Promise<DraftDto> {
    return DraftDto.from(await this.drafts.create(body));
  }

  @Get('drafts')
  @ApiOkResponse({
    type: DraftPageDto,
    description:
      'Drafts not being sent: one a send holds (scheduled, in its undo window) shows again if the send is cancelled or fails',
  })
  async listDrafts(@Query() query: ListDraftsQueryDto): Promise<DraftPageDto> {
    const page = await this.drafts.list(query.accountId, query.limit, query.cursor);
    return { items: page.items.map((draft) => DraftDto.from(draft)), nextCursor: page.nextCursor };
  }

  @Get('drafts/:id')
  @ApiOkResponse({ type: DraftDto })
  @ApiNotFoundResponse()
  async getDraft(@Param('id', ParseUUIDPipe) id: string): Promise<DraftDto> {
    return DraftDto.from(await this.drafts.get(id));
  }

  @Put('drafts/:id')
  @ApiOkResponse({ type: DraftDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'The version is stale, or the draft is being sent' })
  async updateDraft(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateDraftDto): Promise<DraftDto> {
    return DraftDto.from(await this.drafts.update(id, body));
  }

  @Delete('drafts/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted here; the IMAP copy follows' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'The draft is being sent' })
  async deleteDraft(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.drafts.delete(id);
  }
}
