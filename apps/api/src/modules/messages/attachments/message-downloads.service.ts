import type { Readable } from 'node:stream';

import { AppConfig } from '@app/config';
import { MessageReadRepository } from '@app/database';
import type { MessageSourceRow } from '@app/database';
import { AccountMailSettings, downloadMessagePart, ImapConnectionPool } from '@app/mail';
import type { PartDownload } from '@app/mail';
import { Injectable } from '@nestjs/common';

import { AttachmentNotFoundError, MessageBeingMovedError, MessageNotFoundError } from '../errors.js';
import { attachmentContentType, attachmentDisposition } from './content-headers.js';

export interface AttachmentDownload {
  content: Readable;
  contentType: string;
  contentDisposition: string;
}

/** Attachment bytes and message sources stay on the IMAP server; this streams them from there on request. */
@Injectable()
export class MessageDownloadsService {
  constructor(
    private readonly config: AppConfig,
    private readonly messages: MessageReadRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly pool: ImapConnectionPool,
  ) {}

  async open(messageId: string, attachmentId: string): Promise<AttachmentDownload> {
    const source = await this.messages.findAttachmentSource(messageId, attachmentId);
    if (!source) throw new AttachmentNotFoundError(messageId, attachmentId);
    const download = await this.download(source, source.partId);
    return {
      content: download.content,
      contentType: attachmentContentType(source.contentType, download.charset),
      contentDisposition: attachmentDisposition(source.filename),
    };
  }

  /** The message as the server holds it (RFC 822: headers and body, attachments still encoded). */
  async openSource(messageId: string): Promise<Readable> {
    const source = await this.messages.findMessageSource(messageId);
    if (!source) throw new MessageNotFoundError(messageId);
    return (await this.download(source, null)).content;
  }

  private async download(source: MessageSourceRow, partId: string | null): Promise<PartDownload> {
    if (source.uidValidity === '0') throw new MessageBeingMovedError();
    const { imap } = await this.mailSettings.forAccount(source.accountId);
    return downloadMessagePart(
      this.pool,
      imap,
      { folderPath: source.folderPath, uidValidity: source.uidValidity, uid: Number(source.uid), partId },
      this.config.mail.imapTimeoutMs,
    );
  }
}
