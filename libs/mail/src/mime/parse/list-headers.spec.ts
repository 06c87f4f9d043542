import { authenticationResults, listUnsubscribe } from './list-headers.js';

describe('listUnsubscribe', () => {
  it('takes the mailto and the web address, and one-click only for HTTPS with the RFC 8058 header', () => {
    expect(
      listUnsubscribe({
        'list-unsubscribe': '<mailto:leave@lists.example.com?subject=unsubscribe>, <https://lists.example.com/u?id=42>',
        'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
      }),
    ).toEqual({
      mailto: 'mailto:leave@lists.example.com?subject=unsubscribe',
      url: 'https://lists.example.com/u?id=42',
      oneClick: true,
    });
    expect(
      listUnsubscribe({
        'list-unsubscribe': '<http://lists.example.com/u>',
        'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
      }),
    ).toEqual({ mailto: null, url: 'http://lists.example.com/u', oneClick: false });
    expect(listUnsubscribe({ 'list-unsubscribe': '<https://lists.example.com/u>' })).toMatchObject({ oneClick: false });
  });

  it('answers null without the header or without a usable address', () => {
    expect(listUnsubscribe({ subject: 'x' })).toBeNull();
    expect(listUnsubscribe({ 'list-unsubscribe': '<javascript:alert(1)>' })).toBeNull();
  });
});

describe('authenticationResults', () => {
  const trusted = (id: string): boolean => id === 'mx.example.net';

  it('reads SPF, DKIM and DMARC from the trusted server’s header, comments and all', () => {
    expect(
      authenticationResults(
        {
          'authentication-results': [
            'mx.example.net 1; spf=pass (sender IP is 192.0.2.1; allowed) smtp.mailfrom=a.example; dkim=fail header.d=b.example; dkim=pass header.d=a.example; dmarc=pass (p=reject) header.from=a.example',
            'forged.example; spf=fail; dkim=fail; dmarc=fail',
          ],
        },
        trusted,
      ),
    ).toEqual({ authservId: 'mx.example.net', spf: 'pass', dkim: 'pass', dmarc: 'pass' });
  });

  it('ignores headers the sender could have written: another authserv-id is not trusted', () => {
    expect(
      authenticationResults({ 'authentication-results': 'mx.example.net.evil.test; spf=pass' }, trusted),
    ).toBeNull();
    expect(authenticationResults({ 'authentication-results': 'forged.example; dmarc=pass' }, trusted)).toBeNull();
  });

  it('reports the methods the server did not check as null', () => {
    expect(authenticationResults({ 'authentication-results': 'mx.example.net; spf=softfail' }, trusted)).toEqual({
      authservId: 'mx.example.net',
      spf: 'softfail',
      dkim: null,
      dmarc: null,
    });
  });
});
