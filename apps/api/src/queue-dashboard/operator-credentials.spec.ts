import { OperatorCredentials } from './operator-credentials.js';

const basic = (value: string): string => `Basic ${Buffer.from(value, 'utf8').toString('base64')}`;

describe('OperatorCredentials', () => {
  const sut = new OperatorCredentials({ username: 'ops', password: 'pässword:with-colon' });

  it('accepts the operator login, with a colon in the password', () => {
    expect(sut.accepts(basic('ops:pässword:with-colon'))).toBe(true);
    expect(sut.accepts(`basic ${Buffer.from('ops:pässword:with-colon').toString('base64')}`)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['another scheme', 'Bearer abc'],
    ['a wrong password', basic('ops:password')],
    ['a wrong username', basic('op:pässword:with-colon')],
    ['a prefix of the password', basic('ops:pässword')],
    ['no separator', basic('opspässword:with-colon'.replace(':', ''))],
    ['an empty login', basic(':')],
    ['garbage', 'Basic ###'],
  ])('refuses %s', (_name, header) => {
    expect(sut.accepts(header)).toBe(false);
  });
});
