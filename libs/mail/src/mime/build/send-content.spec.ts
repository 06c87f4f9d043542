import type { Draft } from '@app/database';

import { draftSendContent, replyReferences } from './send-content.js';

describe('replyReferences', () => {
  it('appends the parent Message-ID once', () => {
    expect(replyReferences('<p@x>', ['<a@x>'])).toEqual(['<a@x>', '<p@x>']);
    expect(replyReferences('<p@x>', ['<a@x>', '<p@x>'])).toEqual(['<a@x>', '<p@x>']);
    expect(replyReferences(null, undefined)).toEqual([]);
  });
});

describe('draftSendContent', () => {
  it('sends a draft from its account with its own fields and reply headers', () => {
    const draft = {
      to: [{ name: 'Bob', address: 'bob@example.com' }],
      cc: [],
      bcc: [{ name: '', address: 'hidden@example.com' }],
      subject: 'Re: plans',
      textBody: 'text',
      htmlBody: null,
      inReplyTo: '<parent@example.com>',
      references: [],
      attachments: [{ filename: 'a.txt', contentType: 'text/plain', size: 1, storageKey: 'k' }],
    } as unknown as Draft;
    const sut = draftSendContent(draft, { email: 'alice@example.com', displayName: null });
    expect(sut).toEqual({
      from: { name: '', address: 'alice@example.com' },
      to: draft.to,
      cc: [],
      bcc: draft.bcc,
      replyTo: [],
      subject: 'Re: plans',
      text: 'text',
      html: null,
      inReplyTo: '<parent@example.com>',
      references: ['<parent@example.com>'],
      attachments: draft.attachments,
    });
  });
});
