import { AccountRepository, ChangeLogRepository } from '@app/database';
import type { ChangeEntry } from '@app/database';
import { AccountNotFoundError } from '@app/mail';
import { Injectable } from '@nestjs/common';

import { CLIENT_CHANGE_TYPES } from './change-types.js';
import type { ChangeDto, ChangesPageDto } from './dto/changes.dto.js';
import { ChangeCursorExpiredError, UnknownChangeCursorError } from './errors.js';

const DEFAULT_LIMIT = 100;

export interface ChangesAfter {
  entries: ChangeEntry[];
  /** The cursor after these entries: the last one's seq, or the one asked from when none. */
  state: number;
  hasMore: boolean;
}

export function changeDto(entry: ChangeEntry): ChangeDto {
  return { seq: entry.seq, type: entry.type, id: entry.entityId, op: entry.op, at: entry.at.toISOString() };
}

/** Reads an account's change log from a client's cursor (JMAP /changes semantics). */
@Injectable()
export class ChangesService {
  constructor(
    private readonly accounts: AccountRepository,
    private readonly log: ChangeLogRepository,
  ) {}

  async list(accountId: string, since: string | undefined, limit = DEFAULT_LIMIT): Promise<ChangesPageDto> {
    await this.requireAccount(accountId);
    if (since === undefined) {
      return { changes: [], state: String(await this.currentState(accountId)), hasMore: false };
    }
    const page = await this.after(accountId, Number(since), limit);
    return { changes: page.entries.map(changeDto), state: String(page.state), hasMore: page.hasMore };
  }

  async requireAccount(accountId: string): Promise<void> {
    if (!(await this.accounts.findById(accountId))) throw new AccountNotFoundError(accountId);
  }

  async currentState(accountId: string): Promise<number> {
    return (await this.log.position(accountId)).lastSeq;
  }

  /**
   * The client-visible changes after `since`. The cursor is checked after the read: both bounds
   * only grow, so a retention run or a commit racing the read cannot make a gap pass unnoticed.
   */
  async after(accountId: string, since: number, limit: number): Promise<ChangesAfter> {
    const entries = await this.log.listSince(accountId, since, limit + 1, CLIENT_CHANGE_TYPES);
    const { lastSeq, prunedThrough } = await this.log.position(accountId);
    if (since < prunedThrough) throw new ChangeCursorExpiredError(since, prunedThrough);
    if (since > lastSeq) throw new UnknownChangeCursorError(since, lastSeq);
    const page = entries.slice(0, limit);
    return { entries: page, state: page.at(-1)?.seq ?? since, hasMore: entries.length > limit };
  }
}
