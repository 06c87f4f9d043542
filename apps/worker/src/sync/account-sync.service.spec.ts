import { compareSyncOrder, nextAttemptAfter } from './account-sync.service.js';

describe('nextAttemptAfter', () => {
  it('doubles the wait per consecutive failure, capped at six hours', () => {
    const now = 1_000_000;
    const waits = [1, 2, 3, 4, 20].map((failures) => nextAttemptAfter(failures, now).getTime() - now);

    expect(waits).toEqual([60_000, 120_000, 240_000, 480_000, 6 * 3600_000]);
  });
});

describe('compareSyncOrder', () => {
  it('puts INBOX first, then sent, drafts and archive, own folders, virtual ones, junk and trash; smaller first within a rank', () => {
    const folders = [
      { path: 'Trash', role: 'trash' as const, messages: 1 },
      { path: 'Projects', role: null, messages: 900 },
      { path: 'All Mail', role: 'all' as const, messages: 5 },
      { path: 'Archive', role: 'archive' as const, messages: 3_000 },
      { path: 'INBOX', role: 'inbox' as const, messages: 10_000 },
      { path: 'Drafts', role: 'drafts' as const, messages: 2 },
      { path: 'Receipts', role: null, messages: 40 },
      { path: 'Sent', role: 'sent' as const, messages: 700 },
      { path: 'Spam', role: 'junk' as const, messages: 0 },
    ];

    const sut = [...folders].sort(compareSyncOrder).map((folder) => folder.path);

    expect(sut).toEqual(['INBOX', 'Sent', 'Drafts', 'Archive', 'Receipts', 'Projects', 'All Mail', 'Spam', 'Trash']);
  });
});
