import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

import { normalizeHostName } from '@app/config';
import type { OutboundConfig, OutboundHostRule, PortRange } from '@app/config';
import { Logger } from '@nestjs/common';

import { OutboundRefusedError } from '../errors.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name stands for; an IP literal stands for itself. */
export type HostResolver = (host: string) => Promise<ResolvedAddress[]>;

/** A destination the policy admitted: connect to `address`, present and verify `servername`. */
export interface OutboundTarget {
  host: string;
  port: number;
  address: string;
  family: 4 | 6;
  /** The host name for TLS SNI and certificate checks; null when the host is an IP literal. */
  servername: string | null;
}

export type OutboundDecision = { allowed: true } | { allowed: false; reason: string; detail: string };

type Family = 'ipv4' | 'ipv6';

function blockList(family: Family, ...subnets: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, family);
  return list;
}

/** IANA's IPv4 special-purpose registry (RFC 6890 and successors): nothing here is a mail server on the internet. */
const NON_PUBLIC_IPV4: readonly [string, BlockList][] = [
  ['unspecified', blockList('ipv4', ['0.0.0.0', 8])],
  ['loopback', blockList('ipv4', ['127.0.0.0', 8])],
  ['private', blockList('ipv4', ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16])],
  ['link-local', blockList('ipv4', ['169.254.0.0', 16])],
  ['shared address space (CGNAT)', blockList('ipv4', ['100.64.0.0', 10])],
  ['multicast', blockList('ipv4', ['224.0.0.0', 4])],
  [
    'reserved',
    blockList(
      'ipv4',
      ['192.0.0.0', 24],
      ['192.0.2.0', 24],
      ['192.88.99.0', 24],
      ['198.18.0.0', 15],
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
      // 240/4 includes the limited broadcast address 255.255.255.255.
      ['240.0.0.0', 4],
    ),
  ],
];

const NON_PUBLIC_IPV6: readonly [string, BlockList][] = [
  ['unspecified', blockList('ipv6', ['::', 128])],
  ['loopback', blockList('ipv6', ['::1', 128])],
  // fec0::/10 is the deprecated site-local range; 64:ff9b:1::/48 is NAT64 for local use (RFC 8215).
  ['private', blockList('ipv6', ['fc00::', 7], ['fec0::', 10], ['64:ff9b:1::', 48])],
  ['link-local', blockList('ipv6', ['fe80::', 10])],
  ['multicast', blockList('ipv6', ['ff00::', 8])],
  // Teredo, benchmarking, ORCHID and documentation ranges inside 2000::/3.
  [
    'reserved',
    blockList('ipv6', ['2001::', 32], ['2001:2::', 48], ['2001:10::', 28], ['2001:db8::', 32], ['3fff::', 20]),
  ],
];

const GLOBAL_UNICAST_IPV6 = blockList('ipv6', ['2000::', 3]);
const NAT64_WELL_KNOWN = blockList('ipv6', ['64:ff9b::', 96]);
const SIX_TO_FOUR = blockList('ipv6', ['2002::', 16]);
const IPV4_MAPPED = blockList('ipv6', ['::ffff:0:0', 96]);

/** The eight 16-bit groups of an IPv6 address, in any of its textual forms (`::`, embedded dotted quad). */
function ipv6Groups(address: string): number[] {
  // The URL parser is Node's canonical IPv6 serializer: it folds a dotted quad into hex groups.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = '', tail] = canonical.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  return [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last];
}

function ipv4Of(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** `::ffff:127.0.0.1` and `::ffff:7f00:1` are 127.0.0.1: the kernel connects to the IPv4 address. */
export function unmapIpv4(address: string): string {
  if (isIP(address) !== 6 || !IPV4_MAPPED.check(address, 'ipv6')) return address;
  const groups = ipv6Groups(address);
  return ipv4Of(groups[6] ?? 0, groups[7] ?? 0);
}

function firstMatch(lists: readonly [string, BlockList][], address: string, family: Family): string | null {
  for (const [label, list] of lists) if (list.check(address, family)) return label;
  return null;
}

/**
 * Why `address` is not an address on the public internet (`loopback`, `private`, `link-local` …),
 * or null when it is. IPv6 forms that carry an IPv4 address (mapped, NAT64 64:ff9b::/96, 6to4)
 * are judged by that address; anything outside global unicast 2000::/3 is reserved.
 */
export function nonPublicRangeOf(address: string): string | null {
  const unzoned = unmapIpv4(address.split('%')[0] ?? '');
  const family = isIP(unzoned);
  if (family === 4) return firstMatch(NON_PUBLIC_IPV4, unzoned, 'ipv4');
  if (family !== 6) return 'not an IP address';
  const range = firstMatch(NON_PUBLIC_IPV6, unzoned, 'ipv6');
  if (range !== null) return range;
  const groups = ipv6Groups(unzoned);
  if (NAT64_WELL_KNOWN.check(unzoned, 'ipv6')) {
    const embedded = nonPublicRangeOf(ipv4Of(groups[6] ?? 0, groups[7] ?? 0));
    return embedded === null ? null : `${embedded} (through NAT64)`;
  }
  if (SIX_TO_FOUR.check(unzoned, 'ipv6')) {
    const embedded = nonPublicRangeOf(ipv4Of(groups[1] ?? 0, groups[2] ?? 0));
    return embedded === null ? null : `${embedded} (through 6to4)`;
  }
  return GLOBAL_UNICAST_IPV6.check(unzoned, 'ipv6') ? null : 'reserved';
}

interface CompiledHostRule {
  matches(host: string, address: string): boolean;
  ports: PortRange | null;
}

/** The configuration turned into matchers once, so a decision is a few lookups. */
export interface OutboundRules {
  policy: OutboundConfig['policy'];
  allowedPorts: ReadonlySet<number>;
  allowedHosts: readonly CompiledHostRule[];
}

function compileHostRule(rule: OutboundHostRule): CompiledHostRule {
  if (rule.kind === 'name') return { ports: rule.ports, matches: (host) => normalizeHostName(host) === rule.name };
  const network = blockList(rule.family, [rule.address, rule.prefix]);
  return {
    ports: rule.ports,
    matches: (_host, address) => {
      const family = isIP(address);
      return family !== 0 && network.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

export function compileOutboundRules(config: OutboundConfig): OutboundRules {
  return {
    policy: config.policy,
    allowedPorts: new Set(config.allowedPorts),
    allowedHosts: config.allowedHosts.map(compileHostRule),
  };
}

function portAllowed(rules: OutboundRules, ports: PortRange | null, port: number): boolean {
  return ports === null ? rules.allowedPorts.has(port) : port >= ports.from && port <= ports.to;
}

/**
 * Whether the service may connect to `port` of `host`, which resolved to `addresses`. Every
 * address must pass, since the connection could go to any of them. An address passes when an
 * OUTBOUND_ALLOWED_HOSTS entry names the host or contains the address and admits the port, or,
 * in `public` mode, when it is a public address and the port is on OUTBOUND_ALLOWED_PORTS.
 */
export function decideOutbound(
  rules: OutboundRules,
  host: string,
  port: number,
  addresses: readonly ResolvedAddress[],
): OutboundDecision {
  if (rules.policy === 'any') return { allowed: true };
  if (addresses.length === 0)
    return { allowed: false, reason: 'the host has no address', detail: `${host} resolved to nothing` };
  for (const { address } of addresses) {
    const unmapped = unmapIpv4(address);
    const entry = rules.allowedHosts.find(
      (rule) => rule.matches(host, unmapped) && portAllowed(rules, rule.ports, port),
    );
    if (entry) continue;
    if (rules.policy === 'allowlist') {
      return {
        allowed: false,
        reason: 'the server is not on this service’s list of allowed mail servers',
        detail: `${host} (${address}) port ${port} matches no allowed host`,
      };
    }
    const range = nonPublicRangeOf(unmapped);
    if (range !== null) {
      return {
        allowed: false,
        reason: 'the host is not a public internet address',
        detail: `${host} resolved to ${address} (${range})`,
      };
    }
    if (!rules.allowedPorts.has(port)) {
      return {
        allowed: false,
        reason: `port ${port} is not an allowed mail port`,
        detail: `port ${port} is not on OUTBOUND_ALLOWED_PORTS`,
      };
    }
  }
  return { allowed: true };
}

/** dns.lookup, as every client would use, with every address instead of the first one. */
export const systemResolver: HostResolver = async (host) => {
  const addresses = await lookup(host, { all: true, order: 'verbatim' });
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/**
 * The one gate for connections opened on a tenant's behalf. `resolve` looks the host up once,
 * judges every address and returns the one to connect to (the first IPv4 address, else the first); callers connect to that IP and never
 * resolve the name again, so a DNS answer that changes between check and connect (rebinding)
 * cannot slip past. The name stays the TLS server name, so certificates are checked against it.
 */
export class OutboundPolicy {
  private readonly logger = new Logger(OutboundPolicy.name);
  private readonly rules: OutboundRules;

  constructor(
    config: OutboundConfig,
    private readonly resolveHost: HostResolver = systemResolver,
  ) {
    this.rules = compileOutboundRules(config);
  }

  /** `resolve` for the host and port of an http(s) URL (the scheme's port when it names none; IPv6 without brackets). */
  async resolveUrl(url: URL): Promise<OutboundTarget> {
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return this.resolve(url.hostname.replace(/^\[(.*)\]$/, '$1'), port);
  }

  /** Rejects with OutboundRefusedError, or with the resolver's error when the name does not resolve. */
  async resolve(host: string, port: number): Promise<OutboundTarget> {
    const name = host.trim();
    const literal = isIP(name) !== 0 ? name : null;
    const addresses =
      literal !== null
        ? [{ address: literal, family: isIP(literal) === 6 ? (6 as const) : (4 as const) }]
        : await this.resolveHost(name);
    const decision = decideOutbound(this.rules, name, port, addresses);
    if (!decision.allowed) {
      this.logger.warn({ host: name, port, detail: decision.detail }, 'Outbound connection refused by OUTBOUND_POLICY');
      throw new OutboundRefusedError(name, port, decision.reason, decision.detail);
    }
    // One checked address, IPv4 first: the clients get an IP and cannot fall back to another
    // address themselves, and an IPv6 route is the one more often missing (containers, some hosts).
    const chosen = addresses.find((candidate) => isIP(unmapIpv4(candidate.address)) === 4) ?? addresses[0];
    if (!chosen) throw new OutboundRefusedError(name, port, 'the host has no address', `${name} resolved to nothing`);
    const address = unmapIpv4(chosen.address);
    return {
      host: name,
      port,
      address,
      family: isIP(address) === 6 ? 6 : 4,
      servername: literal === null ? name : null,
    };
  }
}
