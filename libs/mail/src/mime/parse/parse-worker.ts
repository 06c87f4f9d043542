import { parentPort } from 'node:worker_threads';

import { tryParseMessageSource } from './parse-message-source.js';

export interface ParseRequest {
  id: number;
  source: Uint8Array;
}

export interface ParseResponse {
  id: number;
  outcome: Awaited<ReturnType<typeof tryParseMessageSource>>;
}

// Entry point of a MimeParserPool thread: one request at a time per thread, answers in order.
parentPort?.on('message', (request: ParseRequest) => {
  void tryParseMessageSource(Buffer.from(request.source.buffer, request.source.byteOffset, request.source.byteLength)).then(
    (outcome) => parentPort?.postMessage({ id: request.id, outcome } satisfies ParseResponse),
  );
});
