import type { Readable } from 'node:stream';

import { AppConfig } from '@app/config';
import { MessageReadRepository } from '@app/database';
import { AccountMailSettings, downloadMessagePart, ImapConnectionPool } from '@app/mail';
import { Injectable } from '@nestjs/common';

import { AttachmentNotFoundError, MessageBeingMovedError } from '../errors.js';
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
    if (!source) throw new AttachmentNotFoundError(messageId, attachmentId);
    if (source.uidValidity === '0') throw new MessageBeingMovedError();
    const { imap } = await this.mailSettings.forAccount(source.accountId);
    const download = await downloadMessagePart(
      this.pool,
      imap,
      {
        folderPath: source.folderPath,
        uidValidity: source.uidValidity,
        uid: Number(source.uid),
        partId: source.partId,
      },
      this.config.mail.imapTimeoutMs,
    );
    return {
      content: download.content,
      contentType: attachmentContentType(source.contentType, download.charset),
      contentDisposition: attachmentDisposition(source.filename),
    };
  }
}
