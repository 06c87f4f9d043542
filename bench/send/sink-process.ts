/**
 * The SMTP sink of the send benchmark in a process of its own, so the code under test does not
 * share its event loop with the server it sends to. Reports its port, then answers `counts`
 * requests over IPC with how often each Message-ID arrived.
 */
import { ScriptedSmtpServer } from '../../test/support/scripted-smtp-server.js';

export type SinkRequest = { type: 'counts' } | { type: 'stop' };
export type SinkReply = { type: 'listening'; port: number } | { type: 'counts'; counts: [string, number][] };

const sink = await new ScriptedSmtpServer().start();
const send = (reply: SinkReply): void => {
  process.send?.(reply);
};
process.on('message', (request: SinkRequest) => {
  if (request.type === 'counts') {
    send({ type: 'counts', counts: [...sink.countsByMessageId()] });
  } else {
    void sink.stop().then(() => process.exit(0));
  }
});
send({ type: 'listening', port: sink.port });

// Never outlive the benchmark, also when it dies before stopping this process.
process.on('disconnect', () => process.exit(1));
