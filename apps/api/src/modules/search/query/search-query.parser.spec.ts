import { SearchParseError } from '../errors.js';
import { parseSearchQuery as sut } from './search-query.parser.js';

const text = (value: string, phrase = false) => ({ kind: 'text', value, phrase });

function errorOf(query: string): SearchParseError {
  try {
    sut(query);
  } catch (error: unknown) {
    if (error instanceof SearchParseError) return error;
    throw error;
  }
  throw new Error(`"${query}" parsed without error`);
}

describe('parseSearchQuery', () => {
  describe('terms', () => {
    it('reads a single free word', () => {
      expect(sut('invoice')).toEqual(text('invoice'));
    });

    it('joins adjacent terms with AND', () => {
      expect(sut('  quarterly   invoice ')).toEqual({ kind: 'and', children: [text('quarterly'), text('invoice')] });
    });

    it('keeps an exact phrase, spaces included', () => {
      expect(sut('"budget  review"')).toEqual(text('budget  review', true));
    });

    it('unescapes quotes and backslashes inside a phrase', () => {
      expect(sut('"say \\"hi\\" \\\\ now"')).toEqual(text('say "hi" \\ now', true));
    });

    it('keeps unicode words whole', () => {
      expect(sut('café Grüße 日本')).toEqual({ kind: 'and', children: [text('café'), text('Grüße'), text('日本')] });
    });

    it('treats lower-case "or" and a lone dash as words', () => {
      expect(sut('this or that - x')).toEqual({
        kind: 'and',
        children: [text('this'), text('or'), text('that'), text('-'), text('x')],
      });
    });

    it('keeps quotes inside a bare word as part of it', () => {
      expect(sut("it's")).toEqual(text("it's"));
    });

    it('reads times and URLs as words, not operators', () => {
      expect(sut('10:30 https://example.com/a')).toEqual({
        kind: 'and',
        children: [text('10:30'), text('https://example.com/a')],
      });
    });
  });

  describe('operators', () => {
    it.each([
      ['from:alice@example.com', { kind: 'address', field: 'from', value: 'alice@example.com' }],
      ['to:bob', { kind: 'address', field: 'to', value: 'bob' }],
      ['cc:carol', { kind: 'address', field: 'cc', value: 'carol' }],
      ['FROM:Alice', { kind: 'address', field: 'from', value: 'Alice' }],
      ['from:"Alice Smith"', { kind: 'address', field: 'from', value: 'Alice Smith' }],
      ['subject:report', { kind: 'subject', value: 'report', phrase: false }],
      ['subject:"a b"', { kind: 'subject', value: 'a b', phrase: true }],
      ['has:attachment', { kind: 'hasAttachment' }],
      ['has:attachments', { kind: 'hasAttachment' }],
      ['is:unread', { kind: 'flag', flag: 'seen', present: false }],
      ['is:read', { kind: 'flag', flag: 'seen', present: true }],
      ['is:flagged', { kind: 'flag', flag: 'flagged', present: true }],
      ['is:starred', { kind: 'flag', flag: 'flagged', present: true }],
      ['in:inbox', { kind: 'folder', value: 'inbox' }],
      ['in:"Work/Old Projects"', { kind: 'folder', value: 'Work/Old Projects' }],
      ['in:Archive/2024', { kind: 'folder', value: 'Archive/2024' }],
      ['before:2024-03-01', { kind: 'date', bound: 'before', date: '2024-03-01' }],
      ['after:2024/3/1', { kind: 'date', bound: 'after', date: '2024-03-01' }],
    ])('reads %s', (query, expected) => {
      expect(sut(query)).toEqual(expected);
    });

    it('combines operators and words', () => {
      expect(sut('from:alice has:attachment report')).toEqual({
        kind: 'and',
        children: [{ kind: 'address', field: 'from', value: 'alice' }, { kind: 'hasAttachment' }, text('report')],
      });
    });
  });

  describe('negation', () => {
    it('negates a word, a phrase, an operator and a group', () => {
      expect(sut('-spam -"new offer" -from:bob -(a OR b)')).toEqual({
        kind: 'and',
        children: [
          { kind: 'not', child: text('spam') },
          { kind: 'not', child: text('new offer', true) },
          { kind: 'not', child: { kind: 'address', field: 'from', value: 'bob' } },
          { kind: 'not', child: { kind: 'or', children: [text('a'), text('b')] } },
        ],
      });
    });

    it('keeps a dash inside a word', () => {
      expect(sut('e-mail')).toEqual(text('e-mail'));
    });

    it('reads a dash that precedes nothing as a word', () => {
      expect(sut('-')).toEqual(text('-'));
    });

    it('stacks double negation', () => {
      expect(sut('--x')).toEqual({ kind: 'not', child: { kind: 'not', child: text('x') } });
    });
  });

  describe('OR and grouping', () => {
    it('lets implicit AND bind tighter than OR', () => {
      expect(sut('a b OR c d')).toEqual({
        kind: 'or',
        children: [
          { kind: 'and', children: [text('a'), text('b')] },
          { kind: 'and', children: [text('c'), text('d')] },
        ],
      });
    });

    it('flattens a chain of ORs', () => {
      expect(sut('a OR b OR c')).toEqual({ kind: 'or', children: [text('a'), text('b'), text('c')] });
    });

    it('groups with parentheses, nested', () => {
      expect(sut('(a OR (b c)) -d')).toEqual({
        kind: 'and',
        children: [
          { kind: 'or', children: [text('a'), { kind: 'and', children: [text('b'), text('c')] }] },
          { kind: 'not', child: text('d') },
        ],
      });
    });

    it('accepts an explicit AND', () => {
      expect(sut('a AND b OR c')).toEqual({
        kind: 'or',
        children: [{ kind: 'and', children: [text('a'), text('b')] }, text('c')],
      });
    });

    it('applies OR between operators', () => {
      expect(sut('from:alice OR from:bob is:unread')).toEqual({
        kind: 'or',
        children: [
          { kind: 'address', field: 'from', value: 'alice' },
          {
            kind: 'and',
            children: [
              { kind: 'address', field: 'from', value: 'bob' },
              { kind: 'flag', flag: 'seen', present: false },
            ],
          },
        ],
      });
    });
  });

  describe('errors name the 1-based position', () => {
    it.each([
      ['"unterminated', 1, /unterminated quote/],
      ['subject:"open', 9, /unterminated quote/],
      ['a "b', 3, /unterminated quote/],
      ['foo:bar', 1, /unknown operator "foo:"/],
      ['hello label:x', 7, /unknown operator "label:"/],
      ['before:2024-13-01', 1, /before: needs a date/],
      ['after:2024-02-30', 1, /after: needs a date/],
      ['x after:yesterday', 3, /after: needs a date/],
      ['a OR', 3, /"OR" needs a term after it/],
      ['OR a', 1, /"OR" needs a term before it/],
      ['a OR OR b', 3, /"OR" needs a term after it/],
      ['a OR )', 3, /"OR" needs a term after it/],
      ['from:', 1, /empty value for from:/],
      ['x to: y', 3, /empty value for to:/],
      ['subject:""', 1, /empty value for subject:/],
      ['has:pdf', 1, /has: accepts "attachment"/],
      ['is:important', 1, /is: accepts unread/],
      ['(a b', 1, /"\(" is never closed/],
      ['a b)', 4, /unexpected "\)"/],
      ['()', 1, /empty parentheses/],
      ['a -)', 4, /unexpected "\)"/],
      ['', 1, /query is empty/],
      ['   ', 4, /query is empty/],
      ['""', 1, /empty phrase/],
      ['日本 foo:x', 4, /unknown operator/],
      ['😀 "x', 3, /unterminated quote/],
    ])('%j fails at %i', (query, position, reason) => {
      const error = errorOf(query);
      expect(error.position).toBe(position);
      expect(error.message).toMatch(reason);
      expect(error.message).toContain(`position ${position}`);
    });
  });

  it('treats SQL in the query as plain words', () => {
    expect(sut("'; DROP TABLE mail_messages; --")).toEqual({
      kind: 'and',
      children: [text("';"), text('DROP'), text('TABLE'), text('mail_messages;'), { kind: 'not', child: text('-') }],
    });
    expect(sut("from:x' OR '1'='1")).toEqual({
      kind: 'or',
      children: [{ kind: 'address', field: 'from', value: "x'" }, text("'1'='1")],
    });
  });
});
