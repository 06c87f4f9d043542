import { ApiProperty } from '@nestjs/swagger';

export class UnsubscribeResultDto {
  @ApiProperty({
    enum: ['one-click', 'mailto'],
    description: 'one-click: the list took the RFC 8058 POST; mailto: an unsubscribe mail was queued from the account',
  })
  method!: 'one-click' | 'mailto';

  @ApiProperty({ type: Number, nullable: true, description: 'The list’s HTTP status, for one-click' })
  status!: number | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The send record of the unsubscribe mail (GET /api/compose/outbox/{id}), for mailto',
  })
  sendId!: string | null;
}
