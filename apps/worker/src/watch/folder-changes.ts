import type { MailFolder } from '@app/database';
import type { ListResponse } from 'imapflow';

/** What the watcher should have synced, from one LIST-STATUS: folders that moved, or the whole account. */
export type FolderChanges = { kind: 'account' } | { kind: 'folders'; paths: string[] };

/**
 * Compares the server's STATUS of each folder with what the last sync stored. A folder the store
 * does not know (new, renamed, never synced) asks for an account-wide sync, which reconciles the
 * folder list. Without CONDSTORE only new and removed messages show in STATUS (UIDNEXT,
 * MESSAGES): flag changes outside INBOX then wait for the periodic sync.
 */
export function changedFolders(
  stored: readonly MailFolder[],
  listing: readonly ListResponse[],
  condstore: boolean,
): FolderChanges {
  const byPath = new Map(stored.map((folder) => [folder.path, folder]));
  const paths: string[] = [];
  for (const entry of listing) {
    if (entry.flags.has('\\Noselect') || entry.flags.has('\\NonExistent')) continue;
    const folder = byPath.get(entry.path);
    const status = entry.status;
    if (!folder || folder.uidValidity === null) return { kind: 'account' };
    if (!status) continue;
    const moved =
      status.uidValidity?.toString() !== folder.uidValidity ||
      status.uidNext?.toString() !== folder.uidNext ||
      status.messages !== folder.messageCount ||
      (condstore && status.highestModseq !== undefined && status.highestModseq.toString() !== folder.highestModseq);
    if (moved) paths.push(entry.path);
  }
  return { kind: 'folders', paths };
}
