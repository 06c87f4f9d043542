import type { ImapFlow } from 'imapflow';

export type SpecialUse = '\\Sent' | '\\Drafts';

/** The folder with the RFC 6154 special-use flag (imapflow falls back to well-known names when the server has no SPECIAL-USE). */
export async function folderWithSpecialUse(client: ImapFlow, use: SpecialUse): Promise<string | null> {
  const folders = await client.list();
  return folders.find((folder) => folder.specialUse === use && !folder.flags.has('\\Noselect'))?.path ?? null;
}

/** UIDs of the messages in the selected folder whose Message-ID header contains `fragment`. */
export async function uidsByMessageId(client: ImapFlow, fragment: string): Promise<number[]> {
  const found = await client.search({ header: { 'message-id': fragment } }, { uid: true });
  return Array.isArray(found) ? found : [];
}

/**
 * Appends `raw` to `path` unless a message with the same Message-ID is already there: a retry
 * after a crash between APPEND and recording it must not file a second copy.
 */
export async function appendOnce(
  client: ImapFlow,
  path: string,
  raw: Buffer,
  messageId: string,
  flags: string[],
  date: Date,
): Promise<'appended' | 'already-present'> {
  const lock = await client.getMailboxLock(path);
  try {
    if ((await uidsByMessageId(client, messageId)).length > 0) return 'already-present';
    await client.append(path, raw, flags, date);
    return 'appended';
  } finally {
    lock.release();
  }
}
