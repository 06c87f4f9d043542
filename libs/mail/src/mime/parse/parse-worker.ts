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

/** A thread's first message, once its modules loaded: until then a failure means it cannot start. */
export interface ParseWorkerReady {
  ready: true;
}

export type ParseWorkerMessage = ParseResponse | ParseWorkerReady;

// Entry point of a MimeParserPool thread: requests are parsed concurrently, each answered by id.
parentPort?.on('message', (request: ParseRequest) => {
  void tryParseMessageSource(
    Buffer.from(request.source.buffer, request.source.byteOffset, request.source.byteLength),
  ).then((outcome) => parentPort?.postMessage({ id: request.id, outcome } satisfies ParseResponse));
});
parentPort?.postMessage({ ready: true } satisfies ParseWorkerReady);
