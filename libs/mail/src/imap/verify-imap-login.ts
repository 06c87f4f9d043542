import { ImapFlow } from 'imapflow';

import { MailServerLoginError, serverReason } from '../mail-server-settings.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import { imapClientOptions } from './imap-client-options.js';

/** Logs in and out once; throws MailServerLoginError carrying the server's own reason. */
export async function verifyImapLogin(settings: MailServerSettings, timeoutMs: number): Promise<void> {
  const client = new ImapFlow({ ...imapClientOptions(settings, timeoutMs), verifyOnly: true });
  // A dead socket after connect would otherwise surface as an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error: unknown) {
    throw new MailServerLoginError('IMAP', serverReason(error));
  } finally {
    client.close();
  }
}
