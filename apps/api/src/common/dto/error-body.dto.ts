import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import type { ErrorBody } from '../all-exceptions.filter.js';
import { errorCodeCatalogue } from '../error-codes.js';

const catalogue = errorCodeCatalogue();

const CODE_TABLE = [
  'A stable name for the error; branch on it, not on `message`. Codes are never renamed once published.',
  '',
  '| code | status | meaning |',
  '| --- | --- | --- |',
  ...catalogue.map(({ code, status, description }) => `| \`${code}\` | ${status ?? '4xx'} | ${description} |`),
].join('\n');

/** The body of every error response (SPEC §3); AllExceptionsFilter builds it. */
export class ErrorBodyDto implements ErrorBody {
  @ApiProperty({ example: 404 })
  statusCode!: number;

  @ApiProperty({ description: "The status's reason phrase", example: 'Not Found' })
  error!: string;

  @ApiProperty({
    description: CODE_TABLE,
    enum: catalogue.map(({ code }) => code),
    enumName: 'ErrorCode',
    example: 'account_not_found',
  })
  code!: string;

  @ApiProperty({
    description: 'What went wrong, for people; may change between versions',
    example: 'Account 5f0c… not found',
  })
  message!: string;

  @ApiProperty({
    description: 'The request id (also the X-Request-ID response header) under which the server logged the request',
  })
  requestId!: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'Per-field problems of a rejected body or query (code `validation_failed`)',
  })
  details?: string[];
}
