import { DraftMailboxService } from './draft-mailbox.service.js';

export { DraftMailboxService } from './draft-mailbox.service.js';
export type { DraftMirrorOutcome } from './draft-mailbox.service.js';

/** What the sync-draft processor needs, besides the mailbox helpers and the libs' modules; a send uses it too, to remove the copy of the draft it sent. */
export const DRAFT_PROVIDERS = [DraftMailboxService];
