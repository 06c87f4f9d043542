import { parentPort } from 'node:worker_threads';

import { StreamedMessageParse, tryParseMessageSource } from './parse-message-source.js';

/**
 * A whole source, or one step of a streamed one: open, its chunks in order, then end (or abort,
 * when the pool stops reading it).
 */
export type ParseRequest =
  | { id: number; source: Uint8Array }
  | { id: number; open: true }
  | { id: number; chunk: Uint8Array }
  | { id: number; end: true }
  | { id: number; abort: true };

export interface ParseResponse {
  id: number;
  outcome: Awaited<ReturnType<typeof tryParseMessageSource>>;
}

/** A streamed chunk the parse has taken in, so the pool may post another. */
export interface ChunkTaken {
  id: number;
  taken: true;
}

/** A thread's first message, once its modules loaded: until then a failure means it cannot start. */
export interface ParseWorkerReady {
  ready: true;
}

export type ParseWorkerMessage = ParseResponse | ChunkTaken | ParseWorkerReady;

const bufferOf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Streamed parses in progress; each chunk is written once the one before it was taken in. */
const streams = new Map<number, { parse: StreamedMessageParse; written: Promise<void> }>();

// Entry point of a MimeParserPool thread: requests are parsed concurrently, each answered by id.
parentPort?.on('message', (request: ParseRequest) => {
  const port = parentPort;
  if (!port) return;
  const { id } = request;
  if ('source' in request) {
    void tryParseMessageSource(bufferOf(request.source)).then((outcome) =>
      port.postMessage({ id, outcome } satisfies ParseResponse),
    );
    return;
  }
  if ('open' in request) {
    streams.set(id, { parse: new StreamedMessageParse(), written: Promise.resolve() });
    return;
  }
  const stream = streams.get(id);
  if (!stream) return;
  if ('chunk' in request) {
    const chunk = bufferOf(request.chunk);
    stream.written = stream.written
      .then(() => stream.parse.write(chunk))
      .then(() => port.postMessage({ id, taken: true } satisfies ChunkTaken));
    return;
  }
  streams.delete(id);
  if ('end' in request)
    void stream.written
      .then(() => stream.parse.end())
      .then((outcome) => port.postMessage({ id, outcome } satisfies ParseResponse));
});
parentPort?.postMessage({ ready: true } satisfies ParseWorkerReady);
