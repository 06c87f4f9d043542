import { ImapFlow } from 'imapflow';

export interface MailboxMessage {
  uid: number;
  messageId: string | null;
  flags: string[];
  source: Buffer;
}

/** Reads a folder over IMAP as its owner would see it. */
export async function mailboxMessages(
  port: number,
  user: string,
  password: string,
  folder: string,
): Promise<MailboxMessage[]> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass: password },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const lock = await client.getMailboxLock(folder, { readOnly: true });
    try {
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      const messages = await client.fetchAll(
        '1:*',
        { uid: true, envelope: true, flags: true, source: true },
        { uid: true },
      );
      return messages.map((message) => ({
        uid: message.uid,
        messageId: message.envelope?.messageId ?? null,
        flags: [...(message.flags ?? [])],
        source: message.source ?? Buffer.alloc(0),
      }));
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}
