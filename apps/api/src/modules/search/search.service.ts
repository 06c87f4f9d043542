import { Injectable } from '@nestjs/common';

import type { MessagePageDto } from '../messages/dto/message-summary.dto.js';
import { MessagesService } from '../messages/messages.service.js';
import { parseSearchQuery } from './query/search-query.parser.js';

@Injectable()
export class SearchService {
  constructor(private readonly messages: MessagesService) {}

  async search(query: string, accountId: string | undefined, limit: number, cursor?: string): Promise<MessagePageDto> {
    return this.messages.list({ accountId, filter: parseSearchQuery(query) }, limit, cursor);
  }
}
