import { MessageReadRepository } from '@app/database';
import { listUnsubscribe, OutboundPolicy, PolicyHttpClient } from '@app/mail';
import { Injectable } from '@nestjs/common';

import { SendsService } from '../sends/sends.service.js';
import { ComposeMessageDto } from '../sends/dto/compose-message.dto.js';
import type { UnsubscribeResultDto } from './dto/unsubscribe-result.dto.js';
import { MessageNotFoundError, UnsubscribeNotOfferedError, UnsubscribeRefusedError } from './errors.js';

const ONE_CLICK_TIMEOUT_MS = 10_000;

/** The address and fields of a mailto: URL (RFC 6068), as far as an unsubscribe mail needs them. */
function parseMailto(mailto: string): { address: string; subject: string; body: string } | null {
  const [target = '', query = ''] = mailto.slice('mailto:'.length).split('?', 2);
  const address = decodeURIComponent(target).trim();
  if (!/^[^\s@,<>]+@[^\s@,<>]+$/u.test(address)) return null;
  const fields = new URLSearchParams(query);
  return { address, subject: fields.get('subject') ?? 'unsubscribe', body: fields.get('body') ?? 'unsubscribe' };
}

/**
 * Leaves the mailing list a message came from, the way the list asks: a one-click POST (RFC 8058)
 * when it offers one, through the egress policy like every outbound connection; otherwise a mail
 * to its unsubscribe address, sent from the account that received the message. A list that only
 * offers a web page needs the user there.
 */
@Injectable()
export class MessageUnsubscribeService {
  constructor(
    private readonly messages: MessageReadRepository,
    private readonly policy: OutboundPolicy,
    private readonly http: PolicyHttpClient,
    private readonly sends: SendsService,
  ) {}

  async unsubscribe(messageId: string): Promise<UnsubscribeResultDto> {
    const message = await this.messages.findById(messageId);
    if (!message) throw new MessageNotFoundError(messageId);
    const offer = message.headers ? listUnsubscribe(message.headers) : null;
    if (offer?.oneClick && offer.url) {
      // Checked first so an address the policy refuses is the client's 422, not the list's failure.
      await this.policy.resolveUrl(new URL(offer.url));
      const answer = await this.http.post(
        offer.url,
        'List-Unsubscribe=One-Click',
        { 'content-type': 'application/x-www-form-urlencoded' },
        ONE_CLICK_TIMEOUT_MS,
      );
      if (answer.kind === 'failed') throw new UnsubscribeRefusedError(answer.error);
      if (answer.status < 200 || answer.status >= 300) throw new UnsubscribeRefusedError(`HTTP ${answer.status}`);
      return { method: 'one-click', status: answer.status, sendId: null };
    }
    const mail = offer?.mailto ? parseMailto(offer.mailto) : null;
    if (!mail) throw new UnsubscribeNotOfferedError(offer?.url ?? null);
    const compose = Object.assign(new ComposeMessageDto(), {
      accountId: message.accountId,
      to: [mail.address],
      subject: mail.subject,
      text: mail.body,
    });
    const { record } = await this.sends.sendMessage(compose, null);
    return { method: 'mailto', status: null, sendId: record.id };
  }
}
