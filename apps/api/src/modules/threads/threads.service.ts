import { MessageReadRepository } from '@app/database';
import { Injectable } from '@nestjs/common';

import { MessageSummaryDto } from '../messages/dto/message-summary.dto.js';
import { ThreadSummaryDto } from './dto/thread.dto.js';
import type { ThreadDto, ThreadPageDto } from './dto/thread.dto.js';
import { ThreadNotFoundError } from './errors.js';

@Injectable()
export class ThreadsService {
  constructor(private readonly messages: MessageReadRepository) {}

  async list(accountId: string, limit: number, cursor?: string): Promise<ThreadPageDto> {
    const page = await this.messages.listThreads(accountId, limit, cursor);
    return { items: page.items.map((row) => ThreadSummaryDto.from(row)), nextCursor: page.nextCursor };
  }

  async get(threadId: string): Promise<ThreadDto> {
    const rows = await this.messages.findThread(threadId);
    if (rows.length === 0) throw new ThreadNotFoundError(threadId);
    return { id: threadId, messages: rows.map((row) => MessageSummaryDto.from(row)) };
  }
}
