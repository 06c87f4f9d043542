import { ImapFlow } from 'imapflow';

export interface ServerMessage {
  folder: string;
  uid: number;
  flags: string[];
  size: number;
  internalDate: Date;
  messageId: string | null;
  subject: string | null;
}

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
  const client = await imapAs(port, user, password);
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

/** A direct IMAP session for arranging and inspecting a mailbox in tests. */
export async function imapAs(port: number, user: string, password: string): Promise<ImapFlow> {
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
  return client;
}

/** Everything the server holds for the user, folder by folder, as the sync should mirror it. */
export async function serverMessages(port: number, user: string, password: string): Promise<ServerMessage[]> {
  const client = await imapAs(port, user, password);
  try {
    const result: ServerMessage[] = [];
    const folders = (await client.list()).filter((entry) => !entry.flags.has('\\Noselect'));
    for (const folder of folders.sort((a, b) => a.path.localeCompare(b.path))) {
      const lock = await client.getMailboxLock(folder.path, { readOnly: true });
      try {
        if (client.mailbox && client.mailbox.exists === 0) continue;
        for (const message of await client.fetchAll(
          '1:*',
          { uid: true, flags: true, size: true, internalDate: true, envelope: true },
          { uid: true },
        )) {
          result.push({
            folder: folder.path,
            uid: message.uid,
            flags: [...(message.flags ?? [])].filter((flag) => flag !== '\\Recent').sort(),
            size: message.size ?? 0,
            internalDate: new Date(message.internalDate ?? 0),
            messageId: message.envelope?.messageId ?? null,
            subject: message.envelope?.subject ?? null,
          });
        }
      } finally {
        lock.release();
      }
    }
    return result.sort((a, b) => a.folder.localeCompare(b.folder) || a.uid - b.uid);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

export interface FolderMessage {
  subject: string;
  flags: string[];
  modseq: bigint | undefined;
}

/** Runs `work` in a fresh session of the user's, so nothing cached by an earlier one hides the server's state. */
export async function withImapSession<T>(
  port: number,
  user: string,
  password: string,
  work: (client: ImapFlow) => Promise<T>,
): Promise<T> {
  const client = await imapAs(port, user, password);
  try {
    return await work(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Subject, flags (\Recent aside) and modseq of every message in one folder on the server. */
export async function folderOnServer(
  port: number,
  user: string,
  password: string,
  folder: string,
): Promise<FolderMessage[]> {
  return withImapSession(port, user, password, async (client) => {
    const lock = await client.getMailboxLock(folder, { readOnly: true });
    try {
      if (client.mailbox && client.mailbox.exists === 0) return [];
      const messages = await client.fetchAll('1:*', { uid: true, flags: true, envelope: true });
      return messages.map((message) => ({
        subject: message.envelope?.subject ?? '',
        flags: [...(message.flags ?? [])].filter((flag) => flag !== '\\Recent').sort(),
        modseq: message.modseq,
      }));
    } finally {
      lock.release();
    }
  });
}
