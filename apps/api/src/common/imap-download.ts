import { applyDecorators } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiGatewayTimeoutResponse,
  ApiOkResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

/** The OpenAPI answers of a route that streams bytes it reads from the account's IMAP server. */
export function ApiImapDownload(mediaType: string, description: string): MethodDecorator {
  return applyDecorators(
    ApiProduces(mediaType),
    ApiOkResponse({ schema: { type: 'string', format: 'binary' }, description }),
    ApiBadGatewayResponse({ description: 'The IMAP server refused the login or could not be reached' }),
    ApiServiceUnavailableResponse({ description: 'Every IMAP connection of this process is busy' }),
    ApiGatewayTimeoutResponse({ description: 'The IMAP server did not answer in time' }),
  );
}

/** Headers of a download: never sniffed into something a browser would run, never kept by a cache. */
export function setDownloadHeaders(reply: FastifyReply, contentType: string, contentDisposition: string): void {
  void reply
    .header('content-type', contentType)
    .header('content-disposition', contentDisposition)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'private, no-store');
}
