import type { Readable } from 'node:stream';

import { Controller, Get, Param, ParseUUIDPipe, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { ApiImapDownload, setDownloadHeaders } from '../../common/imap-download.js';
import { attachmentDisposition } from '../messages/attachments/content-headers.js';
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

  @Get(':id/folders/:folderId/export')
  @ApiImapDownload(
    'application/mbox',
    'Every message of the folder as the IMAP server holds it, oldest first, in one mbox (mboxrd quoting, LF line ends), streamed as it is read',
  )
  @ApiNotFoundResponse({
    description: 'No such account or folder, the folder was never synced, or it was replaced on the server',
  })
  async export(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('folderId', ParseUUIDPipe) folderId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    const { content, path } = await this.mailboxes.export(id, folderId);
    setDownloadHeaders(reply, 'application/mbox', attachmentDisposition(`${path.replace(/[\\/]/gu, '_')}.mbox`));
    return content;
  }
}
