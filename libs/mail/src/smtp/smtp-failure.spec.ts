import { OutboundRefusedError } from '../errors.js';
import { classifySmtpFailure } from './smtp-failure.js';

function smtpError(responseCode: number, response: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`Message failed: ${response}`), {
    code: 'EENVELOPE',
    responseCode,
    response,
    ...extra,
  });
}

describe('classifySmtpFailure', () => {
  it('fails a 5xx reply for good, with the server’s text', () => {
    const sut = classifySmtpFailure(
      smtpError(550, '550 5.1.1 <x@example.org>: Recipient address rejected: User unknown'),
    );

    expect(sut).toEqual({
      kind: 'permanent',
      reason: '550 5.1.1 <x@example.org>: Recipient address rejected: User unknown',
      responseCode: 550,
    });
  });

  it('retries 4xx replies and 503 (bad sequence of commands)', () => {
    expect(classifySmtpFailure(smtpError(451, '451 4.7.1 Greylisted')).kind).toBe('transient');
    expect(classifySmtpFailure(smtpError(421, '421 4.3.2 Shutting down')).kind).toBe('transient');
    expect(classifySmtpFailure(smtpError(503, '503 5.5.1 Error: need RCPT command')).kind).toBe('transient');
  });

  it('reads the first refused recipient when every recipient was refused', () => {
    const error = Object.assign(new Error("Can't send mail - all recipients were rejected"), {
      code: 'EENVELOPE',
      rejectedErrors: [Object.assign(new Error('x'), { responseCode: 554, response: '554 5.7.1 Relay access denied' })],
    });

    expect(classifySmtpFailure(error)).toEqual({
      kind: 'permanent',
      reason: '554 5.7.1 Relay access denied',
      responseCode: 554,
    });
  });

  it('retries failures that never reached the server’s judgement', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET' });
    const timeout = Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' });

    expect(classifySmtpFailure(refused)).toMatchObject({ kind: 'transient', responseCode: null });
    expect(classifySmtpFailure(timeout)).toMatchObject({ kind: 'transient', reason: 'Greeting never received' });
  });

  it('fails local errors that a retry cannot fix', () => {
    expect(classifySmtpFailure(Object.assign(new Error('No recipients defined'), { code: 'EENVELOPE' })).kind).toBe(
      'permanent',
    );
  });

  it('fails a server the outbound policy refuses, with the refusal as the reason', () => {
    const refusal = new OutboundRefusedError(
      '10.0.0.5',
      587,
      'the host is not a public internet address',
      '10.0.0.5 (private)',
    );

    expect(classifySmtpFailure(refusal)).toEqual({
      kind: 'permanent',
      reason: 'Connections to 10.0.0.5 port 587 are not allowed: the host is not a public internet address',
      responseCode: null,
    });
  });
});
