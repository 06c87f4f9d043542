import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

export class EventsQueryDto {
  @ApiProperty({ format: 'uuid', description: 'The account whose changes to stream' })
  @IsUUID()
  accountId!: string;
}
