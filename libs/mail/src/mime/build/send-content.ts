import type { Draft, MailAccount, SendContent } from '@app/database';

/** RFC 5322 section 3.6.4: a reply's References are the parent's References followed by the parent's Message-ID. */
export function replyReferences(
  inReplyTo: string | null | undefined,
  references: readonly string[] | undefined,
): string[] {
  const list = [...(references ?? [])];
  if (inReplyTo && !list.includes(inReplyTo)) list.push(inReplyTo);
  return list;
}

/** What a draft says as a message from its account: sent as it stands, or mirrored to the Drafts folder. */
export function draftSendContent(draft: Draft, sender: Pick<MailAccount, 'email' | 'displayName'>): SendContent {
  return {
    from: { name: sender.displayName ?? '', address: sender.email },
    to: draft.to,
    cc: draft.cc,
    bcc: draft.bcc,
    replyTo: [],
    subject: draft.subject,
    text: draft.textBody,
    html: draft.htmlBody,
    inReplyTo: draft.inReplyTo,
    references: replyReferences(draft.inReplyTo, draft.references),
    attachments: draft.attachments,
  };
}
