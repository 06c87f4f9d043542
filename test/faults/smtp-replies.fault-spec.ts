import type { MailStack } from '../infra/mail-stack.js';
import type { ApiProcess } from '../support/api-process.js';
import type { BackgroundAppProcess } from '../support/background-app-process.js';
import { ScriptedSmtpServer } from '../support/scripted-smtp-server.js';
import { reportFault } from './fault-report.js';
import { FaultApps } from './support/fault-apps.js';
import { mailboxMessages } from '../support/mailbox.js';
import {
  compose,
  createAccount,
  faultTenant,
  mailStack,
  newMailUsers,
  sendRecordOf,
  settledSends,
  sleep,
} from './fault-services.js';
import type { SendRecordDto } from '../../apps/api/src/modules/sends/dto/send-record.dto.js';
import type { MailUser } from './fault-services.js';

/** The recipient of each scenario tells the scripted server how to answer its message. */
const RECIPIENTS = {
  rcpt451: 'greylisted@remote.test',
  data451: 'queue-full@remote.test',
  rcpt421: 'shutting-down@remote.test',
  rcpt550: 'nobody@remote.test',
} as const;
type Scenario = keyof typeof RECIPIENTS;

const REPLIES = {
  rcpt451: '451 4.7.1 <greylisted@remote.test>: Recipient address rejected: Greylisted, try again later',
  data451: '451 4.3.0 Error: queue file write error',
  rcpt421: '421 4.3.2 Service shutting down, closing transmission channel',
  rcpt550: '550 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown in virtual mailbox table',
};

/**
 * The account's SMTP server is scripted to answer 451 (RCPT, then DATA), 421 (closing the
 * connection) and 550 once per message; its IMAP is the real Dovecot, which takes the Sent copy.
 * Transient replies are retried with the worker's production backoff (about a minute) and sent
 * once; the permanent one fails at once with the server's words and is never tried again.
 */
describe('SMTP 421 / 451 / 550 replies', () => {
  const tenant = faultTenant('smtp-replies');
  let stack: MailStack;
  let apps: FaultApps;
  let smtp: ScriptedSmtpServer;
  let api: ApiProcess;
  let worker: BackgroundAppProcess;
  let sender: MailUser;

  beforeAll(async () => {
    stack = mailStack();
    [sender] = (await newMailUsers(stack, ['smtp-replies'])) as [MailUser];
    smtp = await new ScriptedSmtpServer(
      (address, { attempt }) => {
        if (address === RECIPIENTS.rcpt451 && attempt === 1) return REPLIES.rcpt451;
        if (address === RECIPIENTS.rcpt421 && attempt === 1) return REPLIES.rcpt421;
        if (address === RECIPIENTS.rcpt550) return REPLIES.rcpt550;
        return '250 2.1.5 Ok';
      },
      ({ recipients, attempt }) =>
        recipients.includes(RECIPIENTS.data451) && attempt === 1 ? REPLIES.data451 : '250 2.0.0 Ok',
    ).start();
    apps = await FaultApps.start();
    ({ api, worker } = apps);
  }, 60_000);

  afterAll(async () => {
    await apps?.stop();
    await smtp?.stop();
  });

  it('retries 451 and 421 until sent once, and fails 550 at once with the reason', async () => {
    const accountId = await createAccount(api, tenant, sender, { imapPort: stack.imapPort, smtpPort: smtp.port });
    const scenarios = Object.keys(RECIPIENTS) as Scenario[];
    const ids = new Map<Scenario, string>();
    for (const scenario of scenarios) {
      const accepted = await compose(api, tenant, accountId, RECIPIENTS[scenario], `scripted ${scenario}`);
      expect(accepted.statusCode).toBe(202);
      ids.set(scenario, accepted.json<{ id: string }>().id);
    }
    const idOf = (scenario: Scenario): string => ids.get(scenario) ?? '';

    // The permanent refusal is final before any retry of the others is due.
    const rejected = await settledSends(api, tenant, [idOf('rcpt550')], 20_000, () => worker.logs);
    expect(rejected[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(rejected[0]?.lastResponse).toContain(REPLIES.rcpt550);

    // Production backoff: the first retry comes 48-72 s after the failed attempt.
    const startedAt = Date.now();
    const records = new Map<Scenario, SendRecordDto>();
    for (const record of await settledSends(api, tenant, scenarios.map(idOf), 110_000, () => worker.logs)) {
      const scenario = scenarios.find((candidate) => idOf(candidate) === record.id);
      if (scenario) records.set(scenario, record);
    }
    const retriedAfter = (Date.now() - startedAt) / 1000;
    for (const scenario of ['rcpt451', 'data451', 'rcpt421'] as const)
      expect(records.get(scenario)).toMatchObject({ state: 'sent', attempts: 2 });
    // Still refused once only, a minute later: a permanent failure is never retried.
    expect(await sendRecordOf(api, tenant, idOf('rcpt550'))).toMatchObject({ state: 'failed', attempts: 1 });

    const accepted = smtp.countsByMessageId();
    const messageIdOf = (scenario: Scenario): string => records.get(scenario)?.messageId ?? '';
    for (const scenario of ['rcpt451', 'data451', 'rcpt421'] as const)
      expect(accepted.get(messageIdOf(scenario))).toBe(1);
    expect(accepted.get(messageIdOf('rcpt550'))).toBeUndefined();
    expect(smtp.rcptAttempts.get(RECIPIENTS.rcpt451)).toBe(2);
    expect(smtp.rcptAttempts.get(RECIPIENTS.rcpt421)).toBe(2);
    expect(smtp.rcptAttempts.get(RECIPIENTS.rcpt550)).toBe(1);
    expect(smtp.dataReplies.get(messageIdOf('data451'))).toEqual([REPLIES.data451, '250 2.0.0 Ok']);
    expect(smtp.dataReplies.get(messageIdOf('rcpt550'))).toBeUndefined();

    // One Sent copy per delivered message, none for the refused one.
    await sleep(500);
    const sentFolder = (await mailboxMessages(stack.imapPort, sender.email, sender.password, 'Sent')).map(
      (message) => message.messageId,
    );
    for (const scenario of ['rcpt451', 'data451', 'rcpt421'] as const)
      expect(sentFolder.filter((id) => id === messageIdOf(scenario))).toHaveLength(1);
    expect(sentFolder).not.toContain(messageIdOf('rcpt550'));
    expect(worker.alive).toBe(true);

    const transactions = (scenario: Scenario): number =>
      (smtp.dataReplies.get(messageIdOf(scenario)) ?? []).filter((reply) => reply.startsWith('250')).length;
    reportFault(
      'SMTP 451/421/550',
      scenarios
        .map(
          (scenario) =>
            `${REPLIES[scenario].slice(0, 3)} ${scenario.startsWith('data') ? 'DATA' : 'RCPT'} → ${records.get(scenario)?.state} after ${records.get(scenario)?.attempts} attempt(s), ${transactions(scenario)} accepted DATA`,
        )
        .join('; ') + `; retries settled ${retriedAfter.toFixed(0)} s after the 550 (production backoff 1 min ±20 %)`,
    );
  }, 150_000);
});
