import type { Readable } from 'node:stream';

import { AppConfig } from '@app/config';
import { MessageReadRepository } from '@app/database';
import {
  AccountMailSettings,
  AccountNotFoundError,
  downloadMessagePart,
  ImapConnectionPool,
  ImapPoolExhaustedError,
  ImapTimeoutError,
  MailServerLoginError,
  MessagePartGoneError,
  OutboundRefusedError,
  serverReason,
} from '@app/mail';
import {
  BadGatewayException,
  ConflictException,
  GatewayTimeoutException,
  Injectable,
  NotFoundException,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';

import { attachmentContentType, attachmentDisposition } from './content-headers.js';

export interface AttachmentDownload {
  content: Readable;
  contentType: string;
  contentDisposition: string;
}

/** Attachment bytes stay on the IMAP server; this streams them from there on request. */
@Injectable()
export class MessageAttachmentsService {
  constructor(
    private readonly config: AppConfig,
    private readonly messages: MessageReadRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly pool: ImapConnectionPool,
  ) {}

  async open(messageId: string, attachmentId: string): Promise<AttachmentDownload> {
    const source = await this.messages.findAttachmentSource(messageId, attachmentId);
    if (!source) throw new NotFoundException(`attachment ${attachmentId} of message ${messageId} not found`);
    if (source.uidValidity === '0') throw new ConflictException('the message is being moved on the server; try again in a moment');
    try {
      const { imap } = await this.mailSettings.forAccount(source.accountId);
      const download = await downloadMessagePart(
        this.pool,
        imap,
        { folderPath: source.folderPath, uidValidity: source.uidValidity, uid: Number(source.uid), partId: source.partId },
        this.config.mail.imapTimeoutMs,
      );
      return {
        content: download.content,
        contentType: attachmentContentType(source.contentType, download.charset),
        contentDisposition: attachmentDisposition(source.filename),
      };
    } catch (error: unknown) {
      throw translateMailError(error);
    }
  }
}

function translateMailError(error: unknown): unknown {
  if (error instanceof AccountNotFoundError) return new NotFoundException(error.message);
  if (error instanceof MessagePartGoneError) return new NotFoundException(`${error.message}; sync the account to refresh it`);
  if (error instanceof ImapPoolExhaustedError) return new ServiceUnavailableException('every IMAP connection of this server is busy; try again shortly');
  if (error instanceof ImapTimeoutError) return new GatewayTimeoutException(`the IMAP server did not answer in time (${error.message})`);
  if (error instanceof MailServerLoginError) return new BadGatewayException(error.message);
  if (error instanceof OutboundRefusedError) return new UnprocessableEntityException({ message: error.message, code: error.code });
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && /^E[A-Z]+/u.test(error.code)) {
    return new BadGatewayException(`the IMAP server could not be reached: ${serverReason(error)}`);
  }
  return error;
}
