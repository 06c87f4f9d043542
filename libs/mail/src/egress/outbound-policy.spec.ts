import { loadConfig } from '@app/config';

import { OutboundRefusedError } from '../errors.js';
import {
  compileOutboundRules,
  decideOutbound,
  nonPublicRangeOf,
  OutboundPolicy,
  unmapIpv4,
} from './outbound-policy.js';
import type { HostResolver, ResolvedAddress } from './outbound-policy.js';

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

function rulesOf(env: Record<string, string>) {
  return compileOutboundRules(loadConfig({ OUTBOUND_POLICY: 'public', ...env }).outbound);
}

describe('nonPublicRangeOf', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared address space (CGNAT)'],
    ['100.127.255.255', 'shared address space (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
  ])('IPv4 %s is %s', (address, range) => {
    expect(nonPublicRangeOf(address)).toBe(range);
  });

  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fec0::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'reserved'],
    ['64:ff9b:1::a00:1', 'private'],
  ])('IPv6 %s is %s', (address, range) => {
    expect(nonPublicRangeOf(address)).toBe(range);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:0.0.0.0', 'unspecified'],
    // IPv4-compatible (deprecated) forms lie outside global unicast.
    ['::127.0.0.1', 'reserved'],
    ['::a9fe:a9fe', 'reserved'],
    ['64:ff9b::127.0.0.1', 'loopback (through NAT64)'],
    ['64:ff9b::a9fe:a9fe', 'link-local (through NAT64)'],
    ['2002:c0a8:0101::1', 'private (through 6to4)'],
  ])('IPv6 form %s carrying IPv4 is %s', (address, range) => {
    expect(nonPublicRangeOf(address)).toBe(range);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:0808:0808::1',
  ])('%s is public', (address) => {
    expect(nonPublicRangeOf(address)).toBeNull();
  });

  it('reads mapped addresses as the IPv4 address they stand for', () => {
    expect(unmapIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(unmapIpv4('::ffff:8.8.8.8')).toBe('8.8.8.8');
    expect(unmapIpv4('2a00::1')).toBe('2a00::1');
  });
});

describe('decideOutbound', () => {
  it('admits a public address on a mail port and refuses every other port', () => {
    const sut = rulesOf({});

    for (const port of [25, 143, 465, 587, 993, 2525, 80, 443])
      expect(decideOutbound(sut, 'mail.example.com', port, [v4('93.184.215.14')])).toEqual({ allowed: true });
    for (const port of [22, 5432, 6379, 8080]) {
      expect(decideOutbound(sut, 'mail.example.com', port, [v4('93.184.215.14')])).toMatchObject({
        allowed: false,
        reason: `port ${port} is not an allowed mail port`,
      });
    }
  });

  it('refuses a name when any of its addresses is not public, whatever the order', () => {
    const sut = rulesOf({});

    expect(decideOutbound(sut, 'split.example.com', 993, [v4('93.184.215.14'), v4('10.0.0.5')])).toMatchObject({
      allowed: false,
      detail: 'split.example.com resolved to 10.0.0.5 (private)',
    });
    expect(decideOutbound(sut, 'split.example.com', 993, [v6('fd00::5'), v4('93.184.215.14')])).toMatchObject({
      allowed: false,
    });
    expect(decideOutbound(sut, 'empty.example.com', 993, [])).toMatchObject({ allowed: false });
  });

  it('keeps the resolved address out of the reason the tenant sees', () => {
    const decision = decideOutbound(rulesOf({}), 'db.internal', 993, [v4('10.20.30.40')]);

    expect(decision.allowed).toBe(false);
    if (!decision.allowed) expect(decision.reason).not.toContain('10.20.30.40');
  });

  it('lets OUTBOUND_ALLOWED_HOSTS admit exactly the names, IPs and networks it lists, on the mail ports', () => {
    const sut = rulesOf({ OUTBOUND_ALLOWED_HOSTS: 'mail.corp.internal, 10.1.2.3, 192.168.10.0/24, fd00:1::/32' });

    expect(decideOutbound(sut, 'MAIL.corp.internal.', 993, [v4('10.9.9.9')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, 'other.corp.internal', 993, [v4('10.9.9.9')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, '10.1.2.3', 587, [v4('10.1.2.3')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, '10.1.2.4', 587, [v4('10.1.2.4')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, 'x', 143, [v4('192.168.10.77')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, 'x', 143, [v4('192.168.11.77')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, 'x', 143, [v6('fd00:1:ffff::1')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, 'x', 143, [v6('::ffff:10.1.2.3')])).toEqual({ allowed: true });
    // An entry without a port gets OUTBOUND_ALLOWED_PORTS, not every port.
    expect(decideOutbound(sut, '10.1.2.3', 6379, [v4('10.1.2.3')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, 'mail.corp.internal', 5432, [v4('10.9.9.9')])).toMatchObject({ allowed: false });
  });

  it('admits an allowed host on the port or port range its entry names, and on no other port', () => {
    const sut = rulesOf({ OUTBOUND_ALLOWED_HOSTS: 'mail.corp.internal:1143,127.0.0.1:20000-29999,[::1]:2525' });

    expect(decideOutbound(sut, 'mail.corp.internal', 1143, [v4('10.9.9.9')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, 'mail.corp.internal', 993, [v4('10.9.9.9')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, '127.0.0.1', 20000, [v4('127.0.0.1')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, '127.0.0.1', 29999, [v4('127.0.0.1')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, '127.0.0.1', 30000, [v4('127.0.0.1')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, '127.0.0.1', 6379, [v4('127.0.0.1')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, '127.0.0.2', 20000, [v4('127.0.0.2')])).toMatchObject({ allowed: false });
    expect(decideOutbound(sut, '::1', 2525, [v6('::1')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, '::1', 25, [v6('::1')])).toMatchObject({ allowed: false });
  });

  it('in allowlist mode admits only the listed hosts, public or not', () => {
    const sut = rulesOf({ OUTBOUND_POLICY: 'allowlist', OUTBOUND_ALLOWED_HOSTS: 'smtp.example.com,10.0.0.0/8' });

    expect(decideOutbound(sut, 'smtp.example.com', 587, [v4('93.184.215.14')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, '10.4.4.4', 587, [v4('10.4.4.4')])).toEqual({ allowed: true });
    expect(decideOutbound(sut, 'imap.gmail.com', 993, [v4('142.250.1.108')])).toMatchObject({ allowed: false });
  });

  it('checks nothing in any mode', () => {
    expect(decideOutbound(rulesOf({ OUTBOUND_POLICY: 'any' }), 'localhost', 6379, [v4('127.0.0.1')])).toEqual({
      allowed: true,
    });
  });
});

describe('OutboundPolicy.resolve', () => {
  const names: Record<string, ResolvedAddress[]> = {
    'mail.example.com': [v6('2a00:1450:4001:80b::200e'), v4('93.184.215.14'), v4('93.184.215.15')],
    'v6only.example.com': [v6('2a00:1450:4001:80b::200e')],
    'intranet.example.com': [v4('192.168.0.10')],
    'rebind.example.com': [v4('93.184.215.14'), v4('127.0.0.1')],
  };
  const lookups: string[] = [];
  const resolver: HostResolver = (host) => {
    lookups.push(host);
    const answer = names[host];
    return answer
      ? Promise.resolve(answer)
      : Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
  };
  const sut = new OutboundPolicy(loadConfig({ OUTBOUND_POLICY: 'public' }).outbound, resolver);

  beforeEach(() => {
    lookups.length = 0;
  });

  it('answers the first IPv4 address with the name kept as TLS server name, after one lookup', async () => {
    await expect(sut.resolve('mail.example.com', 993)).resolves.toEqual({
      host: 'mail.example.com',
      port: 993,
      address: '93.184.215.14',
      family: 4,
      servername: 'mail.example.com',
    });
    expect(lookups).toEqual(['mail.example.com']);
    await expect(sut.resolve('v6only.example.com', 993)).resolves.toMatchObject({
      address: '2a00:1450:4001:80b::200e',
      family: 6,
    });
  });

  it('refuses names that resolve to a private address, alone or beside a public one', async () => {
    await expect(sut.resolve('intranet.example.com', 993)).rejects.toThrow(OutboundRefusedError);
    await expect(sut.resolve('rebind.example.com', 993)).rejects.toMatchObject({
      code: 'mail_host_not_allowed',
      host: 'rebind.example.com',
      port: 993,
    });
  });

  it('takes an IP literal as it is, without a lookup and without a TLS server name', async () => {
    await expect(sut.resolve('::ffff:8.8.8.8', 465)).resolves.toMatchObject({
      address: '8.8.8.8',
      family: 4,
      servername: null,
    });
    await expect(sut.resolve('169.254.169.254', 80)).rejects.toThrow(OutboundRefusedError);
    await expect(sut.resolve('::ffff:169.254.169.254', 80)).rejects.toThrow(OutboundRefusedError);
    expect(lookups).toEqual([]);
  });

  it('takes a URL by its host and port, the scheme deciding the port it does not name', async () => {
    await expect(sut.resolveUrl(new URL('https://mail.example.com/hook'))).resolves.toMatchObject({ port: 443 });
    await expect(sut.resolveUrl(new URL('http://[2a00:1450:4001:80b::200e]/hook'))).resolves.toMatchObject({
      address: '2a00:1450:4001:80b::200e',
      port: 80,
    });
    await expect(sut.resolveUrl(new URL('http://[::1]/hook'))).rejects.toThrow(OutboundRefusedError);
    await expect(sut.resolveUrl(new URL('http://mail.example.com:8080/hook'))).rejects.toThrow(OutboundRefusedError);
  });

  it('passes a failed lookup on as it is: not a refusal', async () => {
    await expect(sut.resolve('missing.example.com', 993)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
