import { StoredAttachmentRepository } from '@app/database';
import type { Draft, MailAccount, SendContent } from '@app/database';
import { buildOutgoingMime, draftSendContent, messageIdDomain, smtpEnvelope } from '@app/mail';
import type { MimeAttachment, OutgoingMimeInput, SmtpEnvelope } from '@app/mail';
import { Injectable } from '@nestjs/common';

export class MissingAttachmentError extends Error {
  constructor(readonly filename: string) {
    super(`the bytes of attachment "${filename}" are no longer stored`);
  }
}

export interface BuiltMessage {
  envelope: SmtpEnvelope;
  /** Without Bcc: what recipients receive. */
  forTransmission: Buffer;
  /** With Bcc: what the sender keeps in Sent; built only when a copy is filed. */
  forMailbox(): Promise<Buffer>;
}

/** A draft's IMAP copy gets a Message-ID per version, so the mirror can tell stale copies from the current one. */
export function draftMessageId(draft: Pick<Draft, 'id' | 'version'>, senderAddress: string): string {
  return `<${draft.id}.v${draft.version}.draft@${messageIdDomain(senderAddress)}>`;
}

export function draftVersionOf(messageId: string | undefined, draftId: string): number | null {
  const match = messageId ? new RegExp(`^<?${draftId}\\.v(\\d+)\\.draft@`).exec(messageId) : null;
  return match ? Number(match[1]) : null;
}

/** Turns send records and drafts into MIME, fetching attachment bytes from the store. */
@Injectable()
export class MimeMessageBuilder {
  constructor(private readonly storedAttachments: StoredAttachmentRepository) {}

  async forSend(content: SendContent, messageId: string, date: Date): Promise<BuiltMessage> {
    const input: OutgoingMimeInput = {
      ...content,
      attachments: await this.attachmentBytes(content.attachments),
      messageId,
      date,
    };
    return {
      envelope: smtpEnvelope(input),
      forTransmission: await buildOutgoingMime(input, { keepBcc: false }),
      forMailbox: () => buildOutgoingMime(input, { keepBcc: true }),
    };
  }

  async forDraft(draft: Draft, account: Pick<MailAccount, 'email' | 'displayName'>): Promise<Buffer> {
    const content = draftSendContent(draft, account);
    return buildOutgoingMime(
      {
        ...content,
        attachments: await this.attachmentBytes(content.attachments),
        messageId: draftMessageId(draft, account.email),
        date: draft.updatedAt,
      },
      { keepBcc: true },
    );
  }

  private async attachmentBytes(refs: SendContent['attachments']): Promise<MimeAttachment[]> {
    const bytes = await this.storedAttachments.load(refs.map((ref) => ref.storageKey));
    return refs.map((ref) => {
      const content = bytes.get(ref.storageKey);
      if (!content) throw new MissingAttachmentError(ref.filename);
      return { filename: ref.filename, contentType: ref.contentType, content };
    });
  }
}
