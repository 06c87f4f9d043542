import { ImapFlow } from 'imapflow';

import type { OutboundPolicy } from '../egress/outbound-policy.js';
import { ImapTimeoutError, MailServerLoginError } from '../errors.js';
import { serverReason } from '../mail-server-settings.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import { imapClientOptions } from './imap-client-options.js';

/**
 * Resolves or rejects with `work`, or rejects with ImapTimeoutError after `timeoutMs` and calls
 * `onTimeout` (which should close the connection: imapflow can wait forever on a dead socket).
 */
export async function withTimeout<T>(
  operation: string,
  timeoutMs: number,
  work: Promise<T>,
  onTimeout: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new ImapTimeoutError(operation, timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ImapSession {
  client: ImapFlow;
  /** The last error the connection emitted, if it died under us. */
  lastError(): Error | null;
  /**
   * The last command the server refused (NO/BAD). imapflow answers such commands with `false`
   * and only logs the reason, so the session keeps it for callers that must report it.
   */
  lastCommandError(): Error | null;
  close(): Promise<void>;
}

/** True when the server refused the credentials, as opposed to being unreachable or failing later. */
export function isAuthenticationFailure(error: unknown): boolean {
  if (error instanceof MailServerLoginError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { authenticationFailed?: unknown; serverResponseCode?: unknown; code?: unknown };
  return (
    candidate.authenticationFailed === true ||
    candidate.serverResponseCode === 'AUTHENTICATIONFAILED' ||
    candidate.code === 'AUTHENTICATIONFAILED'
  );
}

/**
 * Connects and logs in with a deadline of its own. The connection's 'error' events are captured
 * instead of crashing the process; callers read them through `lastError()`. A refused login
 * becomes MailServerLoginError with the server's reason; a server the outbound policy refuses is
 * never contacted (OutboundRefusedError).
 */
export async function openImapSession(
  policy: OutboundPolicy,
  settings: MailServerSettings,
  timeoutMs: number,
  options: { qresync?: boolean; maxIdleTimeMs?: number } = {},
): Promise<ImapSession> {
  const target = await policy.resolve(settings.host, settings.port);
  let lastCommandError: Error | null = null;
  const ignore = (): void => undefined;
  const logger = {
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: (entry: { err?: unknown }) => {
      if (entry.err instanceof Error) lastCommandError = entry.err;
    },
    error: ignore,
    fatal: ignore,
  };
  const client = new ImapFlow({
    ...imapClientOptions(settings, target, timeoutMs),
    logger,
    qresync: options.qresync ?? true,
    // An explicit idle() is broken and re-issued after this long (RFC 2177 section 3: servers
    // may drop a client idle for 30 minutes).
    ...(options.maxIdleTimeMs ? { maxIdleTime: options.maxIdleTimeMs } : {}),
  });
  let lastError: Error | null = null;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  const session: ImapSession = {
    client,
    lastError: () => lastError,
    lastCommandError: () => lastCommandError,
    close: async () => {
      if (!client.usable) {
        client.close();
        return;
      }
      await withTimeout('logout', Math.min(timeoutMs, 5_000), client.logout(), () => client.close()).catch(() =>
        client.close(),
      );
    },
  };
  try {
    await withTimeout('connect', timeoutMs, client.connect(), () => client.close());
  } catch (error: unknown) {
    client.close();
    if (isAuthenticationFailure(error)) throw new MailServerLoginError('IMAP', serverReason(error));
    throw error;
  }
  return session;
}
