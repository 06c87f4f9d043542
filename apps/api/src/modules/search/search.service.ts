import { BadRequestException, Injectable } from '@nestjs/common';

import type { MessagePageDto } from '../messages/dto/message-summary.dto.js';
import { MessagesService } from '../messages/messages.service.js';
import { SearchParseError } from './query/parse-error.js';
import { parseSearchQuery } from './query/search-query.parser.js';

@Injectable()
export class SearchService {
  constructor(private readonly messages: MessagesService) {}

  async search(query: string, accountId: string | undefined, limit: number, cursor?: string): Promise<MessagePageDto> {
    let filter;
    try {
      filter = parseSearchQuery(query);
    } catch (error: unknown) {
      if (error instanceof SearchParseError) throw new BadRequestException(`invalid search query: ${error.message}`);
      throw error;
    }
    return this.messages.list({ accountId, filter }, limit, cursor);
  }
}
