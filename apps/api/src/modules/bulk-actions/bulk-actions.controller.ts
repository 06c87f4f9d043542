import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';

import { BulkActionsService } from './bulk-actions.service.js';
import { BulkActionDto, BulkActionRequestDto } from './dto/bulk-action.dto.js';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('messages/bulk')
export class BulkActionsController {
  constructor(private readonly bulks: BulkActionsService) {}

  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: BulkActionDto,
    description:
      'Every selected message is changed here at once (reads show it); a job applies the change on the IMAP server in UID batches. Follow it with GET /api/messages/bulk/{id}',
  })
  @ApiBadRequestResponse({
    description:
      'Invalid body, a query that does not parse, both or neither of `query` and `ids`, `folder` missing for a move',
  })
  @ApiNotFoundResponse({ description: 'No such account for the tenant, or no such destination folder in it' })
  @ApiUnprocessableEntityResponse({ description: 'The request selects more than 10,000 messages' })
  @ApiServiceUnavailableResponse({
    description: 'IMAP access or background jobs are disabled, or the job could not be queued (nothing was changed)',
  })
  async request(@Body() body: BulkActionRequestDto): Promise<BulkActionDto> {
    return this.bulks.request(body);
  }

  @Get(':id')
  @ApiOkResponse({ type: BulkActionDto, description: 'Progress: `done` and `failed` out of `total`, and the failures' })
  @ApiNotFoundResponse({ description: 'No such bulk action for the tenant' })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<BulkActionDto> {
    return this.bulks.get(id);
  }
}
