import type { MessageFilter } from './message-filter.js';
import { compileMessageFilter as sut } from './message-filter.sql.js';

const compile = (filter: MessageFilter) => sut(filter, 'm', 'tenantId');

describe('compileMessageFilter', () => {
  it('matches free words through the stored search vector, folded, with the value bound', () => {
    expect(compile({ kind: 'text', value: 'Café', phrase: false })).toEqual({
      sql: `m.search_vector @@ plainto_tsquery('simple', mail_search_fold(:filter_0))`,
      parameters: { filter_0: 'Café' },
    });
  });

  it('uses phraseto_tsquery for phrases', () => {
    expect(compile({ kind: 'text', value: 'a b', phrase: true })?.sql).toContain('phraseto_tsquery');
  });

  it('merges the free words of one AND into a single tsquery', () => {
    const fragment = compile({
      kind: 'and',
      children: [
        { kind: 'text', value: 'quarterly', phrase: false },
        { kind: 'hasAttachment' },
        { kind: 'text', value: 'invoice', phrase: false },
      ],
    });
    expect(fragment).toEqual({
      sql: `(m.search_vector @@ plainto_tsquery('simple', mail_search_fold(:filter_0)) AND m.has_attachments)`,
      parameters: { filter_0: 'quarterly invoice' },
    });
  });

  it('restricts subject terms to weight A, binding the query once', () => {
    const fragment = compile({ kind: 'subject', value: 'budget', phrase: false });
    expect(fragment?.sql).toBe(
      `(m.search_vector @@ plainto_tsquery('simple', mail_search_fold(:filter_0)) AND ts_filter(m.search_vector, '{a}') @@ plainto_tsquery('simple', mail_search_fold(:filter_0)))`,
    );
    expect(fragment?.parameters).toEqual({ filter_0: 'budget' });
  });

  it('matches addresses as an escaped LIKE substring on the folded column', () => {
    expect(compile({ kind: 'address', field: 'cc', value: "50%_off\\x' OR '1'='1" })).toEqual({
      sql: `m.cc_search LIKE '%' || mail_search_fold(:filter_0) || '%'`,
      parameters: { filter_0: "50\\%\\_off\\\\x' OR '1'='1" },
    });
  });

  it('narrows a complete address through its search-vector lexeme, then tests the field with no index to tempt the planner', () => {
    expect(compile({ kind: 'address', field: 'from', value: 'Alice_50%@Example.com' })).toEqual({
      sql: `(m.search_vector @@ plainto_tsquery('simple', mail_search_fold(:filter_0)) AND strpos(m.from_search, mail_search_fold(:filter_1)) > 0)`,
      parameters: { filter_0: 'Alice_50%@Example.com', filter_1: 'Alice_50%@Example.com' },
    });
    expect(compile({ kind: 'address', field: 'to', value: 'alice@' })?.sql).not.toContain('search_vector');
  });

  it('compiles flags, attachments, folders and dates', () => {
    expect(compile({ kind: 'flag', flag: 'seen', present: false })).toEqual({
      sql: 'NOT (:filter_0 = ANY(m.flags))',
      parameters: { filter_0: '\\Seen' },
    });
    expect(compile({ kind: 'flag', flag: 'flagged', present: true })?.parameters).toEqual({ filter_0: '\\Flagged' });
    expect(compile({ kind: 'folder', value: 'Sent' })?.sql).toMatch(
      /folder\.tenant_id = :tenantId .*lower\(folder\.path\) = lower\(:filter_0\) OR folder\.role = lower\(:filter_0\)/,
    );
    expect(compile({ kind: 'date', bound: 'after', date: '2024-03-01' })).toEqual({
      sql: 'm.received_at >= CAST(:filter_0 AS timestamptz)',
      parameters: { filter_0: '2024-03-01T00:00:00Z' },
    });
    expect(compile({ kind: 'date', bound: 'before', date: '2024-03-01' })?.sql).toBe(
      'm.received_at < CAST(:filter_0 AS timestamptz)',
    );
  });

  it('keeps OR and NOT structure with distinct parameters', () => {
    const fragment = compile({
      kind: 'or',
      children: [
        { kind: 'address', field: 'from', value: 'alice' },
        { kind: 'not', child: { kind: 'text', value: 'spam', phrase: false } },
      ],
    });
    expect(fragment).toEqual({
      sql: `(m.from_search LIKE '%' || mail_search_fold(:filter_0) || '%' OR NOT (m.search_vector @@ plainto_tsquery('simple', mail_search_fold(:filter_1))))`,
      parameters: { filter_0: 'alice', filter_1: 'spam' },
    });
  });

  it('drops words without letters or digits, which would otherwise match nothing', () => {
    expect(compile({ kind: 'text', value: "';", phrase: false })).toBeNull();
    expect(compile({ kind: 'not', child: { kind: 'text', value: '--', phrase: false } })).toBeNull();
    expect(
      compile({
        kind: 'and',
        children: [
          { kind: 'text', value: '!!', phrase: false },
          { kind: 'text', value: 'x', phrase: false },
        ],
      }),
    ).toEqual({
      sql: `m.search_vector @@ plainto_tsquery('simple', mail_search_fold(:filter_0))`,
      parameters: { filter_0: 'x' },
    });
    // An alternative that constrains nothing makes the OR match everything.
    expect(
      compile({ kind: 'or', children: [{ kind: 'text', value: '?', phrase: false }, { kind: 'hasAttachment' }] }),
    ).toBeNull();
  });

  it('never puts a value into the SQL text', () => {
    const hostile = "x'); DROP TABLE mail_messages; --";
    const fragment = compile({
      kind: 'and',
      children: [
        { kind: 'text', value: hostile, phrase: false },
        { kind: 'text', value: hostile, phrase: true },
        { kind: 'subject', value: hostile, phrase: false },
        { kind: 'address', field: 'to', value: hostile },
        { kind: 'folder', value: hostile },
      ],
    });
    expect(fragment?.sql).not.toContain('DROP');
    expect(Object.values(fragment?.parameters ?? {})).toHaveLength(5);
  });
});
