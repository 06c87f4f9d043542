import { bounceCategory } from './bounce-report.js';
import { parseMessageSource, StreamedMessageParse } from './parse-message-source.js';

/** A fixture as it arrives over IMAP: CRLF line ends. */
function mail(text: string): Buffer {
  return Buffer.from(text.replace(/^\n/, '').replace(/\r?\n/g, '\r\n'));
}

async function bounceOf(text: string) {
  return (await parseMessageSource(mail(text))).bounce;
}

const ORIGINAL = `
Return-Path: <carol@origin.test>
Received: from [192.0.2.10] by smtp.origin.test (Postfix) with ESMTPSA id 4Q1;
	Tue,  3 Sep 2024 10:15:02 +0200 (CEST)
From: Carol <carol@origin.test>
To: dave@far.test, erin@far.test
Subject: Quarterly figures
Message-ID: <7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>
Date: Tue, 03 Sep 2024 08:15:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

The figures are attached.
`;

const POSTFIX_DSN = `
Return-Path: <>
Date: Tue,  3 Sep 2024 10:15:04 +0200 (CEST)
From: MAILER-DAEMON@smtp.origin.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: carol@origin.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Q1.1725351304/smtp.origin.test"
Message-Id: <20240903081504.9A0B1C2@smtp.origin.test>

This is a MIME-encapsulated message.

--4Q1.1725351304/smtp.origin.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host smtp.origin.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<dave@far.test>: host mx.far.test[198.51.100.7] said: 550 5.1.1
    <dave@far.test>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

<erin@far.test>: host mx.far.test[198.51.100.7] said: 452 4.2.2 Mailbox
    full (in reply to RCPT TO command)

--4Q1.1725351304/smtp.origin.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; smtp.origin.test
X-Postfix-Queue-ID: 4Q1
X-Postfix-Sender: rfc822; carol@origin.test
Arrival-Date: Tue,  3 Sep 2024 10:15:02 +0200 (CEST)

Final-Recipient: rfc822; dave@far.test
Original-Recipient: rfc822;dave@far.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.far.test
Diagnostic-Code: smtp; 550 5.1.1 <dave@far.test>: Recipient address rejected:
    User unknown in virtual mailbox table

Final-Recipient: rfc822; erin@far.test
Original-Recipient: rfc822;erin@far.test
Action: delayed
Status: 4.2.2
Remote-MTA: dns; mx.far.test
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full

--4Q1.1725351304/smtp.origin.test
Content-Description: Undelivered Message
Content-Type: message/rfc822
${ORIGINAL}
--4Q1.1725351304/smtp.origin.test--
`;

describe('bounceReportOf', () => {
  it('reads an RFC 3464 report as Postfix writes it: failed and delayed recipients, the original Message-ID', async () => {
    const sut = await bounceOf(POSTFIX_DSN);

    expect(sut).toEqual({
      originalMessageId: '<7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>',
      source: 'dsn',
      recipients: [
        {
          recipient: 'dave@far.test',
          action: 'failed',
          status: '5.1.1',
          diagnostic: '550 5.1.1 <dave@far.test>: Recipient address rejected: User unknown in virtual mailbox table',
          category: 'mailbox_unknown',
        },
        {
          recipient: 'erin@far.test',
          action: 'delayed',
          status: '4.2.2',
          diagnostic: '452 4.2.2 Mailbox full',
          category: 'mailbox_full',
        },
      ],
    });
  });

  it('reads a streamed report from the parts before a returned message of several MB', async () => {
    const longOriginal = `${ORIGINAL}${'a line of the returned message, long enough to add up to megabytes\n'.repeat(50_000)}`;
    const source = mail(POSTFIX_DSN.replace(ORIGINAL, longOriginal));
    expect(source.length).toBeGreaterThan(3 * 1024 * 1024);
    const streamed = new StreamedMessageParse();
    for (let offset = 0; offset < source.length; offset += 256 * 1024)
      await streamed.write(source.subarray(offset, offset + 256 * 1024));
    const outcome = await streamed.end();

    const whole = await parseMessageSource(source);
    expect(whole.bounce?.recipients).toHaveLength(2);
    expect(outcome.ok && outcome.message.bounce).toEqual(whole.bounce);
  });

  it('reads returned headers only (text/rfc822-headers), a base64 report without per-message fields and a generic status refined by the diagnostic', async () => {
    const sut = await bounceOf(`
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.origin.test>
To: carol@origin.test
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="b1"

--b1
Content-Type: text/plain

The original message was received at Tue, 3 Sep 2024 from localhost.

--b1
Content-Type: message/delivery-status
Content-Transfer-Encoding: base64

${Buffer.from(
  'Final-Recipient: RFC822; <Frank@Far.test>\r\nAction: Failed\r\nStatus: 5.0.0\r\nDiagnostic-Code: SMTP; 554 5.7.1 Message rejected as spam by content filter\r\n',
).toString('base64')}

--b1
Content-Type: text/rfc822-headers

From: Carol <carol@origin.test>
To: Frank <frank@far.test>
Subject: Hello
Message-ID: <headers-only-1@origin.test>

--b1--
`);

    expect(sut).toEqual({
      originalMessageId: '<headers-only-1@origin.test>',
      source: 'dsn',
      recipients: [
        {
          recipient: 'frank@far.test',
          action: 'failed',
          status: '5.7.1',
          diagnostic: '554 5.7.1 Message rejected as spam by content filter',
          category: 'spam_rejected',
        },
      ],
    });
  });

  it('counts a report of a delay alone as no failure', async () => {
    const sut = await bounceOf(`
From: Mail Delivery System <MAILER-DAEMON@smtp.origin.test>
To: carol@origin.test
Subject: Delayed Mail (still being retried)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="d"

--d
Content-Type: text/plain

This is the mail system at host smtp.origin.test. Your message has not been delivered yet.

--d
Content-Type: message/delivery-status

Reporting-MTA: dns; smtp.origin.test

Final-Recipient: rfc822; dave@far.test
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.far.test[198.51.100.7]:25: Connection timed out
Will-Retry-Until: Tue, 10 Sep 2024 10:15:02 +0200 (CEST)

--d
Content-Type: text/rfc822-headers

Message-ID: <delayed-1@origin.test>

--d--
`);

    expect(sut?.recipients).toEqual([
      {
        recipient: 'dave@far.test',
        action: 'delayed',
        status: '4.4.1',
        diagnostic: 'connect to mx.far.test[198.51.100.7]:25: Connection timed out',
        category: 'network_error',
      },
    ]);
    expect(sut?.recipients.some((recipient) => recipient.action === 'failed')).toBe(false);
  });

  it('reads a qmail-send notice', async () => {
    const sut = await bounceOf(`
From: MAILER-DAEMON@mail.far.test
To: carol@origin.test
Subject: failure notice
Date: 3 Sep 2024 08:15:09 -0000

Hi. This is the qmail-send program at mail.far.test.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gina@far.test>:
Sorry, no mailbox here by that name. (#5.1.1)

<hank@far.test>:
This message is looping: it already has my Delivered-To line. (#5.4.6)

--- Below this line is a copy of the message.
${ORIGINAL}`);

    expect(sut).toEqual({
      originalMessageId: '<7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>',
      source: 'mta_text',
      recipients: [
        {
          recipient: 'gina@far.test',
          action: 'failed',
          status: '5.1.1',
          diagnostic: 'Sorry, no mailbox here by that name. (#5.1.1)',
          category: 'mailbox_unknown',
        },
        {
          recipient: 'hank@far.test',
          action: 'failed',
          status: '5.4.6',
          diagnostic: 'This message is looping: it already has my Delivered-To line. (#5.4.6)',
          category: 'network_error',
        },
      ],
    });
  });

  it('reads a sendmail notice: addresses listed under a heading, the reason in the session transcript', async () => {
    const sut = await bounceOf(`
From: Mail Delivery Subsystem <MAILER-DAEMON@gw.far.test>
To: <carol@origin.test>
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="sm"

--sm
Content-Type: text/plain

The original message was received at Tue, 3 Sep 2024 08:15:03 GMT
from smtp.origin.test [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<mia@far.test>
    (reason: 550 5.2.1 Mailbox disabled for this recipient)

   ----- Transcript of session follows -----
... while talking to store.far.test.:
>>> RCPT To:<mia@far.test>
<<< 550 5.2.1 Mailbox disabled for this recipient

--sm
Content-Type: message/rfc822
${ORIGINAL}
--sm--
`);

    expect(sut).toEqual({
      originalMessageId: '<7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>',
      source: 'mta_text',
      recipients: [
        {
          recipient: 'mia@far.test',
          action: 'failed',
          status: '5.2.1',
          diagnostic: '(reason: 550 5.2.1 Mailbox disabled for this recipient)',
          category: 'mailbox_disabled',
        },
      ],
    });
  });

  it('reads an Exim failure notice and an Exim delay warning', async () => {
    const failure = await bounceOf(`
From: Mail Delivery System <Mailer-Daemon@mx1.far.test>
To: carol@origin.test
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  ivy@far.test
    host store.far.test [203.0.113.5]
    SMTP error from remote mail server after RCPT TO:<ivy@far.test>:
    552 5.2.2 <ivy@far.test>: mailbox is over quota

------ This is a copy of the message, including all the headers. ------

${ORIGINAL}`);
    const warning = await bounceOf(`
From: Mail Delivery System <Mailer-Daemon@mx1.far.test>
To: carol@origin.test
Subject: Warning: message 1sABCD-000XYZ-0a delayed 24 hours

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx1.far.test.

The message identifier is:     1sABCD-000XYZ-0a
The subject of the message is: Quarterly figures

The address to which the message has not yet been delivered is:

  jack@far.test
    Delay reason: SMTP error from remote mail server after RCPT TO:<jack@far.test>:
    451 4.3.0 Temporary lookup failure

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered.

------ This is a copy of the message's headers. ------

${ORIGINAL}`);

    expect(failure).toEqual({
      originalMessageId: '<7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>',
      source: 'mta_text',
      recipients: [
        {
          recipient: 'ivy@far.test',
          action: 'failed',
          status: '5.2.2',
          diagnostic:
            'host store.far.test [203.0.113.5] SMTP error from remote mail server after RCPT TO:<ivy@far.test>: 552 5.2.2 <ivy@far.test>: mailbox is over quota',
          category: 'mailbox_full',
        },
      ],
    });
    expect(warning?.recipients).toEqual([
      expect.objectContaining({ recipient: 'jack@far.test', action: 'delayed', status: '4.3.0' }),
    ]);
  });

  it('reads a webmail provider notice in prose with the original headers inline (multipart/alternative)', async () => {
    const sut = await bounceOf(`
From: Mail Delivery Subsystem <mailer-daemon@webmail.test>
To: carol@origin.test
Subject: Delivery Status Notification (Failure)
In-Reply-To: <7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

** Address not found **

Your message wasn't delivered to kim@far.test because the address couldn't=
 be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please =
try
double-checking the recipient's email address for typos.

--alt
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2><p>Your message wasn't delivered to <b>kim@far.test</b>.</p></body></html>

--alt--
`);

    expect(sut).toEqual({
      originalMessageId: '<7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>',
      source: 'prose',
      recipients: [
        {
          recipient: 'kim@far.test',
          action: 'failed',
          status: '5.1.1',
          diagnostic:
            "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos.",
          category: 'mailbox_unknown',
        },
      ],
    });
  });

  it('reads an enterprise server notice in prose with "Original message headers" after it', async () => {
    const sut = await bounceOf(`
From: Postmaster <postmaster@corp.test>
To: carol@origin.test
Subject: Undeliverable: Quarterly figures
Content-Type: text/plain; charset=utf-8

Delivery has failed to these recipients or groups:

leo@corp.test
The email address you entered couldn't be found. Please check the recipient's email address and try to resend the message.

Diagnostic information for administrators:

Generating server: EX01.corp.test

leo@corp.test
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

Original message headers:

Received: from smtp.origin.test (192.0.2.10) by EX01.corp.test; Tue, 3 Sep 2024 08:15:05 +0000
From: Carol <carol@origin.test>
To: <leo@corp.test>
Subject: Quarterly figures
Message-ID: <enterprise-1@origin.test>
`);

    expect(sut).toEqual({
      originalMessageId: '<enterprise-1@origin.test>',
      source: 'prose',
      recipients: [
        {
          recipient: 'leo@corp.test',
          action: 'failed',
          status: '5.1.10',
          diagnostic: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
          category: 'mailbox_unknown',
        },
      ],
    });
  });

  it('ignores read receipts, delivery confirmations and ordinary mail', async () => {
    const readReceipt = await bounceOf(`
From: Dave <dave@far.test>
To: carol@origin.test
Subject: Read: Quarterly figures
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="r"

--r
Content-Type: text/plain

Your message was read on Tue, 3 Sep 2024. 550 5.1.1 is quoted here only to tempt a parser.

--r
Content-Type: message/disposition-notification

Reporting-UA: far.test; Mail
Final-Recipient: rfc822; dave@far.test
Original-Message-ID: <7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>
Disposition: manual-action/MDN-sent-manually; displayed

--r--
`);
    const delivered = await bounceOf(`
From: Mail Delivery System <MAILER-DAEMON@smtp.origin.test>
To: carol@origin.test
Subject: Successful Mail Delivery Report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ok"

--ok
Content-Type: text/plain

Your message was successfully delivered to dave@far.test. 250 2.0.0 Ok

--ok
Content-Type: message/delivery-status

Reporting-MTA: dns; smtp.origin.test

Final-Recipient: rfc822; dave@far.test
Action: delivered
Status: 2.0.0

--ok
Content-Type: text/rfc822-headers

Message-ID: <7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>

--ok--
`);
    const ordinary = await bounceOf(`
From: Dave <dave@far.test>
To: carol@origin.test
Subject: Re: Quarterly figures
In-Reply-To: <7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>

The server said 550 5.1.1 to erin@far.test, could you resend?
`);

    expect([readReceipt, delivered, ordinary]).toEqual([null, null, null]);
  });
});

describe('bounceReportOf on hostile text', () => {
  it('reads a notice of megabytes of unbroken words in linear time', async () => {
    const words = ['a'.repeat(1_000_000), `${'.'.repeat(500_000)}x`, `x@${'b'.repeat(500_000)}`].join('\n');
    const sut = await bounceOf(`
From: MAILER-DAEMON@far.test
To: carol@origin.test
Subject: Undelivered Mail Returned to Sender
In-Reply-To: <7f3c2a10-5e1b-4c8e-9d2f-0a1b2c3d4e5f@origin.test>

550 5.1.1 user unknown
${words}
`);

    expect(sut).toBeNull();
  });
});

describe('bounceCategory', () => {
  it.each([
    ['5.1.1', null, 'mailbox_unknown'],
    ['5.1.2', 'Host or domain name not found', 'domain_unknown'],
    ['5.2.2', null, 'mailbox_full'],
    ['5.2.1', null, 'mailbox_disabled'],
    ['5.3.4', null, 'message_too_large'],
    ['5.7.1', 'Service unavailable; client host blocked using zen.spamhaus.org', 'spam_rejected'],
    ['5.7.1', 'Relay access denied', 'policy_rejected'],
    ['4.4.1', 'Connection timed out', 'network_error'],
    [null, 'Mailbox quota exceeded', 'mailbox_full'],
    [null, 'something odd happened', 'other'],
  ] as const)('%s with "%s" is %s', (status, text, expected) => {
    expect(bounceCategory(status, text)).toBe(expected);
  });
});
