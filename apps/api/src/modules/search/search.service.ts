import { MessageReadRepository } from '@app/database';
import type { MessageFilter } from '@app/database';
import { Injectable } from '@nestjs/common';

import { MessagesService } from '../messages/messages.service.js';
import type { SearchPageDto } from './dto/search-result.dto.js';
import { highlight, highlightTerms } from './highlight.js';
import { parseSearchQuery } from './query/search-query.parser.js';

@Injectable()
export class SearchService {
  constructor(
    private readonly messages: MessagesService,
    private readonly reads: MessageReadRepository,
  ) {}

  /** Matching messages of one account, or of all the tenant's, each with the passage that matched. */
  async search(query: string, accountId: string | undefined, limit: number, cursor?: string): Promise<SearchPageDto> {
    const filter = withoutAllMail(parseSearchQuery(query));
    const page = await this.messages.list({ accountId, filter }, limit, cursor);
    const terms = highlightTerms(filter);
    // Bodies are read for the page only, and only when there are words to show.
    const texts =
      terms.length > 0
        ? await this.reads.searchableTexts(page.items.map((item) => item.id))
        : new Map<string, { subject: string | null; text: string | null }>();
    return {
      items: page.items.map((item) => {
        const text = texts.get(item.id);
        return {
          ...item,
          highlight: text ? (highlight(text.text ?? '', terms) ?? highlight(text.subject ?? '', terms)) : null,
        };
      }),
      nextCursor: page.nextCursor,
    };
  }
}

function namesFolder(filter: MessageFilter): boolean {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return filter.children.some(namesFolder);
    case 'not':
      return namesFolder(filter.child);
    case 'folder':
    case 'folderRole':
      return true;
    default:
      return false;
  }
}

/**
 * A folder with the \All role (Gmail's `[Gmail]/All Mail`) holds another copy of every message
 * the account has filed elsewhere: a search that names no folder leaves it out, so a message is not
 * found twice. `in:all` (or its path) still searches it.
 */
function withoutAllMail(filter: MessageFilter): MessageFilter {
  if (namesFolder(filter)) return filter;
  return { kind: 'and', children: [filter, { kind: 'not', child: { kind: 'folderRole', role: 'all' } }] };
}
