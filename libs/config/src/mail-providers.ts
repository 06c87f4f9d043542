import { readFileSync } from 'node:fs';

export type ProviderSecurity = 'tls' | 'starttls' | 'none';

export interface ProviderServer {
  host: string;
  port: number;
  security: ProviderSecurity;
}

/** How the service obtains and renews a provider's OAuth2 tokens (authorisation code flow with PKCE). */
export interface ProviderOAuth {
  authorizeUrl: string;
  tokenUrl: string;
  /** Read for the mailbox address when the token response carries no ID token with an `email` claim. */
  userinfoUrl: string | null;
  scopes: string[];
  /** Null until the operator registers the application with the provider. */
  clientId: string | null;
  clientSecret: string | null;
  /** Extra authorize parameters the provider needs to hand out a refresh token. */
  authorizeParams: Record<string, string>;
}

/**
 * A mail provider's servers and habits. The sync and send code read habits from here, never from
 * a provider's name: `filesSentCopy` (its submission server files the Sent copy itself) and
 * `allMailFolders` (folders that show every message of the others again, so they count once).
 */
export interface MailProvider {
  id: string;
  name: string;
  auth: 'password' | 'oauth2';
  imap: ProviderServer;
  smtp: ProviderServer;
  filesSentCopy: boolean;
  allMailFolders: string[];
  oauth: ProviderOAuth | null;
}

const GOOGLE: MailProvider = {
  id: 'google',
  name: 'Gmail / Google Workspace',
  auth: 'oauth2',
  imap: { host: 'imap.gmail.com', port: 993, security: 'tls' },
  smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls' },
  filesSentCopy: true,
  allMailFolders: ['[Gmail]/All Mail', '[Google Mail]/All Mail'],
  oauth: {
    authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    userinfoUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
    scopes: ['https://mail.google.com/', 'openid', 'email'],
    clientId: null,
    clientSecret: null,
    // Google returns a refresh token only for offline access, and again only on a new consent.
    authorizeParams: { access_type: 'offline', prompt: 'consent' },
  },
};

const MICROSOFT: MailProvider = {
  id: 'microsoft',
  name: 'Outlook.com / Microsoft 365',
  auth: 'oauth2',
  imap: { host: 'outlook.office365.com', port: 993, security: 'tls' },
  smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
  filesSentCopy: true,
  allMailFolders: [],
  oauth: {
    authorizeUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    userinfoUrl: null,
    scopes: [
      'https://outlook.office.com/IMAP.AccessAsUser.All',
      'https://outlook.office.com/SMTP.Send',
      'offline_access',
      'openid',
      'email',
    ],
    clientId: null,
    clientSecret: null,
    authorizeParams: { prompt: 'select_account' },
  },
};

function passwordProvider(
  id: string,
  name: string,
  imapHost: string,
  smtp: ProviderServer,
  filesSentCopy: boolean,
): MailProvider {
  return {
    id,
    name,
    auth: 'password',
    imap: { host: imapHost, port: 993, security: 'tls' },
    smtp,
    filesSentCopy,
    allMailFolders: [],
    oauth: null,
  };
}

/** Presets shipped with the service; the app-password providers need an app-specific password. */
export const PROVIDER_PRESETS: readonly MailProvider[] = [
  GOOGLE,
  MICROSOFT,
  passwordProvider(
    'icloud',
    'iCloud Mail',
    'imap.mail.me.com',
    { host: 'smtp.mail.me.com', port: 587, security: 'starttls' },
    false,
  ),
  passwordProvider(
    'yahoo',
    'Yahoo Mail',
    'imap.mail.yahoo.com',
    { host: 'smtp.mail.yahoo.com', port: 465, security: 'tls' },
    true,
  ),
  passwordProvider(
    'fastmail',
    'Fastmail',
    'imap.fastmail.com',
    { host: 'smtp.fastmail.com', port: 465, security: 'tls' },
    false,
  ),
];

export class ProviderConfigError extends Error {}

const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SECURITIES: readonly string[] = ['tls', 'starttls', 'none'];

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(entry: Json, key: string, where: string, fallback?: string | null): string | null {
  const value = entry[key];
  if (value === undefined) {
    if (fallback === undefined) throw new ProviderConfigError(`${where}.${key} is required`);
    return fallback;
  }
  if (value === null) return null;
  if (typeof value !== 'string' || value.trim() === '')
    throw new ProviderConfigError(`${where}.${key} must be a string`);
  return value.trim();
}

function url(entry: Json, key: string, where: string, fallback?: string | null): string | null {
  const value = text(entry, key, where, fallback);
  if (value === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ProviderConfigError(`${where}.${key} must be an http(s) URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new ProviderConfigError(`${where}.${key} must be an http(s) URL`);
  return value;
}

function server(value: unknown, where: string, fallback: ProviderServer | undefined): ProviderServer {
  if (value === undefined && fallback) return fallback;
  if (!isObject(value)) throw new ProviderConfigError(`${where} must be an object with host, port and security`);
  const host = text(value, 'host', where, fallback?.host);
  const port = value.port ?? fallback?.port;
  const security = value.security ?? fallback?.security;
  if (!host) throw new ProviderConfigError(`${where}.host is required`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new ProviderConfigError(`${where}.port must be a port number`);
  if (typeof security !== 'string' || !SECURITIES.includes(security))
    throw new ProviderConfigError(`${where}.security must be tls, starttls or none`);
  return { host, port, security: security as ProviderSecurity };
}

function stringList(value: unknown, where: string, fallback: string[] | undefined): string[] {
  if (value === undefined && fallback) return fallback;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw new ProviderConfigError(`${where} must be a list of strings`);
  return value;
}

function oauthOf(entry: Json, where: string, preset: ProviderOAuth | null): ProviderOAuth {
  const params = entry.authorizeParams ?? preset?.authorizeParams ?? {};
  if (!isObject(params) || !Object.values(params).every((value) => typeof value === 'string'))
    throw new ProviderConfigError(`${where}.authorizeParams must be an object of strings`);
  return {
    authorizeUrl: url(entry, 'authorizeUrl', where, preset?.authorizeUrl) as string,
    tokenUrl: url(entry, 'tokenUrl', where, preset?.tokenUrl) as string,
    userinfoUrl: url(entry, 'userinfoUrl', where, preset?.userinfoUrl ?? null),
    scopes: stringList(entry.scopes, `${where}.scopes`, preset?.scopes),
    clientId: text(entry, 'clientId', where, preset?.clientId ?? null),
    clientSecret: text(entry, 'clientSecret', where, preset?.clientSecret ?? null),
    authorizeParams: params as Record<string, string>,
  };
}

function providerOf(entry: unknown, index: number, presets: ReadonlyMap<string, MailProvider>): MailProvider {
  const where = `OAUTH_PROVIDERS[${index}]`;
  if (!isObject(entry)) throw new ProviderConfigError(`${where} must be an object`);
  const id = entry.id;
  if (typeof id !== 'string' || !PROVIDER_ID.test(id))
    throw new ProviderConfigError(`${where}.id must be 1-64 of a-z, 0-9, _ and -`);
  const preset = presets.get(id);
  const auth = entry.auth ?? preset?.auth ?? 'oauth2';
  if (auth !== 'oauth2' && auth !== 'password')
    throw new ProviderConfigError(`${where}.auth must be oauth2 or password`);
  const filesSentCopy = entry.filesSentCopy ?? preset?.filesSentCopy ?? false;
  if (typeof filesSentCopy !== 'boolean') throw new ProviderConfigError(`${where}.filesSentCopy must be true or false`);
  return {
    id,
    name: text(entry, 'name', where, preset?.name ?? id) as string,
    auth,
    imap: server(entry.imap, `${where}.imap`, preset?.imap),
    smtp: server(entry.smtp, `${where}.smtp`, preset?.smtp),
    filesSentCopy,
    allMailFolders: stringList(entry.allMailFolders, `${where}.allMailFolders`, preset?.allMailFolders ?? []),
    oauth: auth === 'oauth2' ? oauthOf(entry, where, preset?.oauth ?? null) : null,
  };
}

/**
 * The presets overlaid with OAUTH_PROVIDERS: a JSON list of providers, inline or in the file it
 * names. An entry with a preset's id changes only the fields it gives (typically clientId and
 * clientSecret); any other id adds a provider, which then needs every field.
 */
export function parseMailProviders(value: string | undefined): MailProvider[] {
  const presets = new Map(PROVIDER_PRESETS.map((preset) => [preset.id, preset]));
  if (value === undefined) return [...presets.values()];
  let source = value.trim();
  if (!source.startsWith('[')) {
    try {
      source = readFileSync(source, 'utf8');
    } catch {
      throw new ProviderConfigError('OAUTH_PROVIDERS must be a JSON list or the path of a readable JSON file');
    }
  }
  let entries: unknown;
  try {
    entries = JSON.parse(source);
  } catch {
    throw new ProviderConfigError('OAUTH_PROVIDERS is not valid JSON');
  }
  if (!Array.isArray(entries)) throw new ProviderConfigError('OAUTH_PROVIDERS must be a JSON list of providers');
  const providers = new Map(presets);
  entries.forEach((entry, index) => {
    const provider = providerOf(entry, index, presets);
    providers.set(provider.id, provider);
  });
  return [...providers.values()];
}
