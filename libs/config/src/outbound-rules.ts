import { isIP } from 'node:net';

/**
 * Where the service may open connections on a tenant's behalf (IMAP, SMTP, later webhooks):
 * `public` refuses addresses that are not on the public internet, `allowlist` admits only
 * OUTBOUND_ALLOWED_HOSTS, `any` checks nothing (development).
 */
export const OUTBOUND_POLICIES = ['public', 'allowlist', 'any'] as const;
export type OutboundPolicyMode = (typeof OUTBOUND_POLICIES)[number];

/** Inclusive. */
export interface PortRange {
  from: number;
  to: number;
}

/**
 * One OUTBOUND_ALLOWED_HOSTS entry: a host name (matched as typed, whatever it resolves to) or
 * an IP network. `ports` null means the entry is admitted on OUTBOUND_ALLOWED_PORTS only.
 */
export type OutboundHostRule =
  | { kind: 'name'; name: string; ports: PortRange | null }
  | { kind: 'network'; address: string; prefix: number; family: 'ipv4' | 'ipv6'; ports: PortRange | null };

export interface OutboundConfig {
  policy: OutboundPolicyMode;
  allowedHosts: OutboundHostRule[];
  allowedPorts: number[];
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/;

/** Lower case without a trailing dot: how host names are compared. */
export function normalizeHostName(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

function parsePortRange(text: string): PortRange | null {
  const [first, last, ...rest] = text.split('-');
  if (first === undefined || rest.length > 0) return null;
  const from = parsePort(first);
  const to = last === undefined ? from : parsePort(last);
  return from !== null && to !== null && from <= to ? { from, to } : null;
}

/** `25,587` → [25, 587]; null when any entry is not a port. */
export function parsePortList(value: string): number[] | null {
  const ports = value.split(',').map((entry) => parsePort(entry.trim()));
  return ports.every((port): port is number => port !== null) ? ports : null;
}

/**
 * `host[:port]`, `ip[:port]`, `cidr[:port]`, `[ipv6 or ipv6 cidr]:port`, where port is one port or
 * a range `from-to`. A bare IPv6 address or network takes no port (its colons would be ambiguous).
 */
function parseHostRule(entry: string): OutboundHostRule | null {
  let target = entry;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.+))?$/.exec(entry);
  if (bracketed) {
    target = bracketed[1] ?? '';
    portText = bracketed[2];
    if (!target.includes(':')) return null;
  } else if (entry.split(':').length === 2) {
    [target = '', portText] = entry.split(':');
  }
  const ports = portText === undefined ? null : parsePortRange(portText);
  if (portText !== undefined && ports === null) return null;

  const [address = '', prefixText, ...rest] = target.split('/');
  const family = isIP(address);
  if (family !== 0 && rest.length === 0) {
    const bits = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= bits)) return null;
    return { kind: 'network', address, prefix, family: family === 4 ? 'ipv4' : 'ipv6', ports };
  }
  const name = normalizeHostName(target);
  return prefixText === undefined && HOST_NAME.test(name) ? { kind: 'name', name, ports } : null;
}

/** The comma-separated OUTBOUND_ALLOWED_HOSTS; null when any entry does not parse. */
export function parseAllowedHosts(value: string): OutboundHostRule[] | null {
  const rules = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map(parseHostRule);
  return rules.every((rule): rule is OutboundHostRule => rule !== null) ? rules : null;
}
