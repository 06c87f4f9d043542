import { ApiProperty } from '@nestjs/swagger';

import { MessageSummaryDto } from '../../messages/dto/message-summary.dto.js';

export class SearchHitDto extends MessageSummaryDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Why it matched: a short passage of the body (or the subject) around the searched words, HTML-escaped, each match in <mark>…</mark>; null when only operators matched (from:, is:, in:, …)',
    example: '…the <mark>invoice</mark> for March is attached…',
  })
  highlight!: string | null;
}

export class SearchPageDto {
  @ApiProperty({ type: [SearchHitDto], description: 'Newest first; `accountId` says which account each came from' })
  items!: SearchHitDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Opaque cursor of the next page; null on the last' })
  nextCursor!: string | null;
}
