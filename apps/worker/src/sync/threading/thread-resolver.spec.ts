import type { SyncedMessage, ThreadBySubject, ThreadLookupRepository } from '@app/database';

import { baseSubject, emptyThreadLayer, ThreadResolver } from './thread-resolver.js';

function message(uid: number, fields: Partial<SyncedMessage> = {}): SyncedMessage {
  return {
    uid,
    modseq: null,
    messageId: `<m${uid}@resolver.test>`,
    inReplyTo: null,
    references: [],
    subject: `message ${uid}`,
    fromName: null,
    fromAddress: null,
    to: [],
    cc: [],
    bcc: [],
    replyTo: [],
    sentAt: null,
    receivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, uid)),
    flags: [],
    size: 0,
    hasAttachments: false,
    snippet: null,
    textBody: null,
    htmlBody: null,
    headers: null,
    parseState: 'envelope',
    attachments: [],
    deliveryReport: null,
    ...fields,
  };
}

/** Stored threads by Message-ID, as the lookups would find them committed. */
function lookups(
  stored: Record<string, string> = {},
  bySubject?: ThreadBySubject,
): { repository: ThreadLookupRepository; subjectLookups: string[] } {
  const subjectLookups: string[] = [];
  const repository = {
    threadsOfMessages: (_accountId: string, ids: string[]) =>
      Promise.resolve(new Map(ids.flatMap((id) => (stored[id] ? [[id, stored[id]] as const] : [])))),
    threadsOfReferrers: () => Promise.resolve(new Map<string, string>()),
    latestWithBaseSubject: (_accountId: string, subject: string) => {
      subjectLookups.push(subject);
      return Promise.resolve(bySubject);
    },
  } as unknown as ThreadLookupRepository;
  return { repository, subjectLookups };
}

describe('baseSubject', () => {
  it('drops reply and forward prefixes, however many and in which language, and folds case', () => {
    expect(
      ['Re: Plans', 'RE: re: Plans', 'Fwd: Plans', 'AW: SV: Plans', 'Re[2]: Plans', '  plans '].map(baseSubject),
    ).toEqual(Array(6).fill('plans'));
    expect(baseSubject(null)).toBe('');
  });
});

describe('ThreadResolver', () => {
  it('puts a reply in the thread of the message it answers, even within one batch', async () => {
    const sut = new ThreadResolver(lookups().repository);
    const { threads, merges } = await sut.resolve(
      'account',
      [message(1), message(2, { inReplyTo: '<m1@resolver.test>' })],
      [],
      emptyThreadLayer(),
    );

    expect(threads.get(2)).toBe(threads.get(1));
    expect(merges).toEqual([]);
  });

  it('merges two stored threads that one message links, into the thread of its nearest ancestor', async () => {
    const sut = new ThreadResolver(
      lookups({ '<a@resolver.test>': 'thread-a', '<b@resolver.test>': 'thread-b' }).repository,
    );
    const reply = message(3, {
      inReplyTo: '<b@resolver.test>',
      references: ['<a@resolver.test>', '<b@resolver.test>'],
    });
    const { threads, merges } = await sut.resolve('account', [reply], [], emptyThreadLayer());

    expect(threads.get(3)).toBe('thread-b');
    expect(merges).toEqual([{ loser: 'thread-a', winner: 'thread-b' }]);
  });

  it('sees the decisions of an earlier batch that has not committed yet', async () => {
    const sut = new ThreadResolver(lookups().repository);
    const earlier = emptyThreadLayer();
    const first = await sut.resolve('account', [message(1)], [], earlier);
    const { threads } = await sut.resolve(
      'account',
      [message(2, { inReplyTo: '<m1@resolver.test>' })],
      [earlier],
      emptyThreadLayer(),
    );

    expect(threads.get(2)).toBe(first.threads.get(1));
  });

  it('falls back to the subject only for a reply without thread headers', async () => {
    const { repository, subjectLookups } = lookups({}, { threadId: 'thread-s', receivedAt: 0 });
    const sut = new ThreadResolver(repository);
    const { threads } = await sut.resolve(
      'account',
      [
        message(1, { subject: 'Re: Plans' }),
        message(2, { subject: 'Plans' }),
        message(3, { subject: 'Re: Plans', inReplyTo: '<x@resolver.test>' }),
      ],
      [],
      emptyThreadLayer(),
    );

    expect(threads.get(1)).toBe('thread-s');
    expect(threads.get(2)).not.toBe('thread-s');
    expect(threads.get(3)).not.toBe('thread-s');
    expect(subjectLookups).toEqual(['plans']);
  });
});
