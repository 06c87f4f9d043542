// A parser thread whose behaviour each source scripts, for MimeParserPool's failure-mode tests:
// "HANG" blocks the thread for good, "SLOW:<ms>" answers after that delay, anything else answers
// at once with the source as the subject.
import { Buffer } from 'node:buffer';
import { setTimeout } from 'node:timers';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, source }) => {
  const text = Buffer.from(source).toString('utf8');
  const answer = () => parentPort.postMessage({ id, outcome: { ok: true, message: { subject: text } } });
  if (text === 'HANG') {
    for (;;) {
      // never answers, never yields
    }
  }
  const slow = /^SLOW:(\d+)$/.exec(text);
  if (slow) setTimeout(answer, Number(slow[1]));
  else answer();
});
parentPort.postMessage({ ready: true });
