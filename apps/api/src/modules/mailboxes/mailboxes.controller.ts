import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { FolderListDto } from './dto/folder.dto.js';
import { MailboxesService } from './mailboxes.service.js';

@ApiTags('mailboxes')
@ApiBearerAuth()
@Controller('accounts')
export class MailboxesController {
  constructor(private readonly mailboxes: MailboxesService) {}

  @Get(':id/folders')
  @ApiOkResponse({
    type: FolderListDto,
    description: 'Special-use folders first (inbox, drafts, sent, ...), then by path',
  })
  @ApiNotFoundResponse({ description: 'No such account' })
  async list(@Param('id', ParseUUIDPipe) id: string): Promise<FolderListDto> {
    return this.mailboxes.list(id);
  }
}
