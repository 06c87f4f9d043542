import { ImapFlow } from 'imapflow';

import type { OutboundPolicy } from '../egress/outbound-policy.js';
import { LoginTestRejectedError, MailServerUnreachableError } from '../errors.js';
import { isServerAnswer, resolveLoginTarget, serverReason } from '../mail-server-settings.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import { imapClientOptions } from './imap-client-options.js';
import { withTimeout } from './imap-session.js';

/**
 * Logs in and out once. Rejects with OutboundRefusedError before any connection when the policy
 * refuses the server, LoginTestRejectedError with the server's reason when it answered NO/BAD, and
 * MailServerUnreachableError when it never got that far.
 */
export async function verifyImapLogin(
  policy: OutboundPolicy,
  settings: MailServerSettings,
  timeoutMs: number,
): Promise<void> {
  const target = await resolveLoginTarget(policy, 'IMAP', settings);
  const client = new ImapFlow({ ...imapClientOptions(settings, target, timeoutMs), verifyOnly: true });
  // A dead socket after connect would otherwise surface as an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    // imapflow bounds connect and greeting but not the login itself: one deadline for it all.
    await withTimeout('login test', timeoutMs, client.connect(), () => client.close());
  } catch (error: unknown) {
    if (isServerAnswer(error)) throw new LoginTestRejectedError('IMAP', serverReason(error));
    throw new MailServerUnreachableError('IMAP', settings.host, settings.port, serverReason(error));
  } finally {
    client.close();
  }
}
