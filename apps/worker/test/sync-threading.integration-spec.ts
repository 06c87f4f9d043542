import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { addMailUser, readMailStack, seedMailbox } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { SyncHarness } from '../../../test/support/sync-harness.js';

const TENANT = `sync-threading-${process.pid}`;
const PASSWORD = 'secret-4';

interface Draft {
  id: string;
  subject: string;
  inReplyTo?: string;
  references?: string[];
}

describe('IMAP sync engine: threads from References and In-Reply-To, whatever order messages arrive in', () => {
  let stack: MailStack;
  let harness: SyncHarness;
  let fixtures: string;
  let sequence = 0;

  beforeAll(async () => {
    stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
    fixtures = mkdtempSync(join(tmpdir(), 'sync-threading-'));
    harness = await SyncHarness.start();
  });

  afterAll(async () => {
    await harness?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  function messageFiles(drafts: Draft[]): string[] {
    return drafts.map((draft) => {
      sequence += 1;
      const headers = [
        `From: Alice <alice@${stack.domain}>`,
        `To: Bob <bob@${stack.domain}>`,
        `Subject: ${draft.subject}`,
        `Date: Mon, 2 Mar 2026 10:${String(sequence).padStart(2, '0')}:00 +0000`,
        `Message-ID: <${draft.id}@threads.test>`,
        ...(draft.inReplyTo ? [`In-Reply-To: <${draft.inReplyTo}@threads.test>`] : []),
        ...(draft.references ? [`References: ${draft.references.map((id) => `<${id}@threads.test>`).join(' ')}`] : []),
      ];
      const file = join(fixtures, `${sequence}-${draft.id}.eml`);
      writeFileSync(file, `${headers.join('\r\n')}\r\n\r\nBody of ${draft.id}.\r\n`);
      return file;
    });
  }

  it('joins parents synced after their replies, threads on References alone, merges threads a message links', async () => {
    const user = `threads-${process.pid}@${stack.domain}`;
    await addMailUser(stack, user, PASSWORD);
    const accountId = (await harness.createAccount(TENANT, user, PASSWORD, stack.imapPort)).id;
    const threadOf = async (): Promise<Map<string, string | null>> =>
      new Map(
        (await harness.storedMessages(TENANT, accountId)).map((row) => [
          row.messageId?.replace(/^<|@threads\.test>$/g, '') ?? '',
          row.threadId,
        ]),
      );

    // First sync: replies only, their originals are not on the server yet.
    await seedMailbox(
      stack,
      user,
      'INBOX',
      messageFiles([
        // a reply to a reply, then a reply that names its parent in References only
        { id: 'grandchild', subject: 'Re: Re: Plan', inReplyTo: 'child', references: ['root', 'child'] },
        { id: 'sibling', subject: 'Re: Plan', references: ['root'] },
        // two conversations that a later message will turn out to join
        { id: 'left', subject: 'Re: Budget', references: ['budget-p'] },
        { id: 'right', subject: 'Re: Budget figures', references: ['budget-q'] },
        { id: 'lunch', subject: 'Lunch' },
        { id: 'unrelated', subject: 'Plan' },
      ]),
    );
    await harness.sync(TENANT, accountId);
    const before = await threadOf();
    expect(before.get('sibling')).toBe(before.get('grandchild'));
    expect(before.get('left')).not.toBe(before.get('right'));
    expect(before.get('unrelated')).not.toBe(before.get('grandchild'));

    // Second sync, another folder: the root (referred to only by References of stored replies), a
    // message whose References name both budget threads, a reply without any thread headers.
    await seedMailbox(
      stack,
      user,
      'Archive',
      messageFiles([
        { id: 'root', subject: 'Plan' },
        { id: 'joiner', subject: 'Re: Budget', inReplyTo: 'budget-q', references: ['budget-p', 'budget-q'] },
        { id: 'headerless', subject: 'RE: lunch' },
      ]),
    );
    await harness.sync(TENANT, accountId);
    const after = await threadOf();

    const plan = after.get('root');
    expect(plan).toEqual(expect.any(String));
    expect([after.get('grandchild'), after.get('sibling')]).toEqual([plan, plan]);
    const budget = after.get('joiner');
    expect([after.get('left'), after.get('right')]).toEqual([budget, budget]);
    // The subject decides only for a reply that carries neither header.
    expect(after.get('headerless')).toBe(after.get('lunch'));
    const distinct = new Set([plan, budget, after.get('lunch'), after.get('unrelated')]);
    expect(distinct.size).toBe(4);

    await harness.sync(TENANT, accountId, { full: true });
    expect(await threadOf()).toEqual(after);
  }, 60_000);
});
