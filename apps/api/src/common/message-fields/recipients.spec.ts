import { parseRecipient } from './recipients.js';

describe('parseRecipient', () => {
  it('reads RFC 5322 text with and without display names', () => {
    expect(parseRecipient('bob@example.com')).toEqual({ ok: true, mailbox: { name: '', address: 'bob@example.com' } });
    expect(parseRecipient('"Doe, Jane" <jane@example.com>')).toEqual({
      ok: true,
      mailbox: { name: 'Doe, Jane', address: 'jane@example.com' },
    });
    expect(parseRecipient('Jürgen <juergen@bücher.example>')).toEqual({
      ok: true,
      mailbox: { name: 'Jürgen', address: 'juergen@bücher.example' },
    });
  });

  it('reads { name, address } objects', () => {
    expect(parseRecipient({ name: ' Bob ', address: 'bob@example.com' })).toEqual({
      ok: true,
      mailbox: { name: 'Bob', address: 'bob@example.com' },
    });
    expect(parseRecipient({ address: 'bob@example.com' })).toEqual({
      ok: true,
      mailbox: { name: '', address: 'bob@example.com' },
    });
  });

  it.each([
    ['a line break in text', 'Bob <bob@example.com>\r\nBcc: eve@example.com'],
    ['a line break in a name', { name: 'Bob\nBcc: eve@example.com', address: 'bob@example.com' }],
    ['two addresses in one entry', 'a@example.com, b@example.com'],
    ['a group', 'friends: a@example.com, b@example.com;'],
    ['no domain', 'bob'],
    ['a non-ASCII local part', 'jörg@example.com'],
    ['unknown properties', { address: 'bob@example.com', admin: true }],
    ['a number', 42],
  ])('refuses %s', (_case, value) => {
    expect(parseRecipient(value).ok).toBe(false);
  });
});
