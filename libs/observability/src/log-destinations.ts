import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { multistream, destination } from 'pino';
import type { DestinationStream, Level, StreamEntry } from 'pino';

/** Marks the one line per HTTP request that belongs in access.log. */
export const ACCESS_LOG_KIND = 'access';

/** A stream that forwards only the access lines; pino hands streams serialised JSON lines. */
function accessLinesOnly(target: DestinationStream): DestinationStream {
  const marker = `"kind":"${ACCESS_LOG_KIND}"`;
  return { write: (line: string) => (line.includes(marker) ? target.write(line) : undefined) };
}

function fileStream(dir: string, name: string): DestinationStream {
  return destination({ dest: join(dir, name), mkdir: true, sync: false });
}

/**
 * JSON to stdout always; with LOG_DIR also access.log (request lines), error.log (error and
 * above) and service.log (everything), the files operators of the previous service expect.
 */
export function logDestinations(level: Level, logDir: string | null): DestinationStream {
  const streams: StreamEntry[] = [{ level, stream: process.stdout }];
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    streams.push(
      { level, stream: fileStream(logDir, 'service.log') },
      { level: 'error', stream: fileStream(logDir, 'error.log') },
      { level: 'info', stream: accessLinesOnly(fileStream(logDir, 'access.log')) },
    );
  }
  return multistream(streams);
}
