// A parser thread whose behaviour each source scripts, for MimeParserPool's failure-mode tests:
// "HANG" blocks the thread for good, "SLOW:<ms>" answers after that delay, anything else answers
// at once with the source as the subject. A streamed source is scripted by its chunks joined,
// each chunk taken in at once.
import { Buffer } from 'node:buffer';
import { setTimeout } from 'node:timers';
import { parentPort } from 'node:worker_threads';

const streams = new Map();

function run(id, text) {
  const answer = () => parentPort.postMessage({ id, outcome: { ok: true, message: { subject: text } } });
  if (text === 'HANG') {
    for (;;) {
      // never answers, never yields
    }
  }
  const slow = /^SLOW:(\d+)$/.exec(text);
  if (slow) setTimeout(answer, Number(slow[1]));
  else answer();
}

parentPort.on('message', (request) => {
  const { id } = request;
  if ('source' in request) return run(id, Buffer.from(request.source).toString('utf8'));
  if ('open' in request) return void streams.set(id, []);
  const chunks = streams.get(id);
  if (!chunks) return;
  if ('chunk' in request) {
    chunks.push(Buffer.from(request.chunk));
    parentPort.postMessage({ id, taken: true });
    return;
  }
  streams.delete(id);
  if ('end' in request) run(id, Buffer.concat(chunks).toString('utf8'));
});
parentPort.postMessage({ ready: true });
