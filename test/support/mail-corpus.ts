import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a test expects the sync to store for one generated message. */
export interface ExpectedMessage {
  messageId: string;
  subject: string;
  fromName: string;
  fromAddress: string;
  to: string[];
  cc: string[];
  inReplyTo: string | null;
  references: string[];
  /** A phrase the stored text body must contain, when the message has a text body. */
  textIncludes: string | null;
  htmlIncludes: string | null;
  attachments: { filename: string; contentType: string; size: number; inline: boolean }[];
  /** Messages with the same key must share a thread id. */
  threadKey: string;
  unparseable?: boolean;
}

export interface GeneratedMessage {
  raw: Buffer;
  expect: ExpectedMessage;
}

/** Deterministic pseudo-random numbers, so a corpus is the same on every run. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    this.state ^= this.state << 13;
    this.state ^= this.state >>> 17;
    this.state ^= this.state << 5;
    return (this.state >>> 0) / 0x1_0000_0000;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

const PEOPLE = [
  ['Alice Martin', 'alice.martin'],
  ['Bob Keller', 'bob'],
  ['Chloé Dubois', 'chloe.dubois'],
  ['Dmitri Ivanov', 'dmitri'],
  ['Eva Novák', 'eva.novak'],
  ['Fumiko Sato', 'fumiko'],
  ['Günther Weiß', 'guenther'],
  ["Hannah O'Brien", 'hannah.obrien'],
] as const;

const WORDS = (
  'the quarterly report shows revenue growth across regions while costs remained stable we should review the ' +
  'budget before the meeting next week please find attached the latest figures and let me know if anything ' +
  'looks wrong the customer asked for a follow up call about the delivery schedule and pricing options'
).split(' ');

/** Encoded words (RFC 2047) in several charsets, with what they decode to. */
const ENCODED_SUBJECTS: readonly [string, string][] = [
  ['=?koi8-r?B?79Teo9Qg2sEgy9fB0tTBzA==?=', 'Отчёт за квартал'],
  ['=?iso-8859-1?B?Uul1bmlvbiBjYWbpIOAgMTVo?=', 'Réunion café à 15h'],
  ['=?windows-1252?B?UHJpeCCAIGV0IG5h73ZldOk=?=', 'Prix € et naïveté'],
  ['=?iso-2022-jp?B?GyRCMnE1RCRONUQ7dk8/GyhC?=', '会議の議事録'],
  ['=?gb2312?B?vL62yLGouOY=?=', '季度报告'],
  ['=?iso-8859-7?B?yuHr5+zd8eEg8+Hy?=', 'Καλημέρα σας'],
  ['=?iso-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?=', 'Grüße aus München'],
  ['=?UTF-8?B?8J+TiCBXZWVrbHkgbWV0cmljcw==?=', '📈 Weekly metrics'],
];

function sentence(random: Random, words: number): string {
  const picked = Array.from({ length: words }, () => random.pick(WORDS));
  const text = picked.join(' ');
  return `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}.`;
}

function paragraphs(random: Random, bytes: number): string[] {
  const result: string[] = [];
  let size = 0;
  while (size < bytes) {
    const paragraph = Array.from({ length: 3 + random.int(4) }, () => sentence(random, 8 + random.int(10))).join(' ');
    result.push(paragraph);
    size += paragraph.length + 2;
  }
  return result;
}

/** Wraps to 76 characters as quoted-printable-free 7bit text must (RFC 5322 section 2.1.1: 78 max). */
function wrap(text: string, width = 76): string {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line.length + word.length + 1 > width && line !== '') {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines.join('\r\n');
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

function bytes(random: Random, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let index = 0; index + 4 <= size; index += 4) data.writeUInt32LE((random.next() * 0x1_0000_0000) >>> 0, index);
  return data;
}

function rfc2822Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

export type MessageKind =
  'plain' | 'html' | 'alternative' | 'attachment' | 'related' | 'koi8' | 'rfc2231' | 'unparseable';

export interface CorpusOptions {
  count: number;
  domain: string;
  /** Distinguishes the Message-IDs of corpora seeded into different mailboxes. */
  tag: string;
  seed?: number;
  /** Largest attachment in bytes (the integration corpus uses a few MB, the benchmark less). */
  maxAttachmentBytes?: number;
  /** Upper bound of an ordinary attachment; one in fourteen attachment messages gets a large one instead. */
  typicalAttachmentBytes?: number;
  /** Share of messages that reply to an earlier one. */
  replyRatio?: number;
  kinds?: readonly MessageKind[];
  startDate?: Date;
}

const ALL_KINDS: readonly MessageKind[] = ['plain', 'html', 'alternative', 'attachment', 'related', 'koi8', 'rfc2231'];

/**
 * Real-looking mail: plain, HTML, alternative, attachments (RFC 2231 names included), inline
 * images, RFC 2047 subjects in several charsets, KOI8-R bodies and reply chains.
 */
export function generateCorpus(options: CorpusOptions): GeneratedMessage[] {
  const random = new Random(options.seed ?? 42);
  const kinds = options.kinds ?? ALL_KINDS;
  const maxAttachment = options.maxAttachmentBytes ?? 3 * 1024 * 1024;
  const replyRatio = options.replyRatio ?? 0.25;
  const typicalAttachment = options.typicalAttachmentBytes ?? 60_000;
  const start = (options.startDate ?? new Date('2024-03-01T08:00:00Z')).getTime();
  const messages: GeneratedMessage[] = [];

  for (let index = 0; index < options.count; index += 1) {
    const kind = kinds[index % kinds.length];
    const [fromName, fromLocal] = random.pick(PEOPLE);
    const [toName, toLocal] = random.pick(PEOPLE);
    const fromAddress = `${fromLocal}@${options.domain}`;
    const toAddress = `${toLocal}@${options.domain}`;
    const ccAddress = random.int(3) === 0 ? `${random.pick(PEOPLE)[1]}@${options.domain}` : null;
    const messageId = `<${options.tag}.${index}.${createHash('sha1').update(`${options.tag}${index}`).digest('hex').slice(0, 10)}@${options.domain}>`;
    const date = new Date(start + index * 37_000);

    const parent = index > 0 && random.next() < replyRatio ? messages[random.int(messages.length)] : undefined;
    let subjectHeader: string;
    let subject: string;
    if (parent) {
      subject = `Re: ${parent.expect.subject.replace(/^Re: /, '')}`;
      subjectHeader = subject.match(/^[\x20-\x7e]*$/) ? subject : `Re: ${encodedSubjectFor(parent.expect.subject)}`;
    } else if (index % 5 === 1) {
      const [encoded, decoded] = ENCODED_SUBJECTS[index % ENCODED_SUBJECTS.length];
      subjectHeader = `${encoded} #${index}`;
      subject = `${decoded} #${index}`;
    } else {
      subject = `${sentence(random, 4 + random.int(4)).slice(0, -1)} #${index}`;
      subjectHeader = subject;
    }
    const references = parent ? [...parent.expect.references, parent.expect.messageId] : [];

    const headers = [
      `Return-Path: <${fromAddress}>`,
      `Received: from mx.${options.domain} (mx.${options.domain} [192.0.2.${index % 250}])\r\n\tby mail.${options.domain} with ESMTPS id ${index.toString(36)}\r\n\tfor <${toAddress}>; ${rfc2822Date(date)}`,
      `Message-ID: ${messageId}`,
      `Date: ${rfc2822Date(date)}`,
      `From: ${fromName.match(/^[\x20-\x7e]*$/) ? `"${fromName}"` : `=?UTF-8?B?${Buffer.from(fromName).toString('base64')}?=`} <${fromAddress}>`,
      `To: ${toName.match(/^[\x20-\x7e]*$/) ? `"${toName}"` : `=?UTF-8?B?${Buffer.from(toName).toString('base64')}?=`} <${toAddress}>`,
      ...(ccAddress ? [`Cc: ${ccAddress}`] : []),
      `Subject: ${subjectHeader}`,
      ...(parent ? [`In-Reply-To: ${parent.expect.messageId}`, `References: ${references.join('\r\n ')}`] : []),
      'MIME-Version: 1.0',
      `X-Mailer: corpus-generator 1.0`,
    ];

    const marker = `marker-${options.tag}-${index}`;
    const text = `${paragraphs(random, 400 + random.int(2500)).join('\n\n')}\n\n${marker}`;
    const html = `<html><body>${paragraphs(random, 1500 + random.int(8000))
      .map((p) => `<p>${p}</p>`)
      .join('\n')}<p>${marker}</p></body></html>`;
    const attachments: ExpectedMessage['attachments'] = [];
    let body: string[];
    let textIncludes: string | null = marker;
    let htmlIncludes: string | null = null;
    const boundary = `----=_Part_${index}_${options.tag}`;

    switch (kind) {
      case 'plain':
        body = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', wrap(text)];
        break;
      case 'koi8': {
        const koi = 'Привет, это тело письма в KOI8-R.';
        body = [
          'Content-Type: text/plain; charset=koi8-r',
          'Content-Transfer-Encoding: base64',
          '',
          base64Lines(Buffer.from('8NLJ18XULCDc1M8g1MXMzyDQydPYzcEg1yBLT0k4LVIu', 'base64')),
        ];
        textIncludes = koi;
        break;
      }
      case 'html':
        body = [
          'Content-Type: text/html; charset=utf-8',
          'Content-Transfer-Encoding: base64',
          '',
          base64Lines(Buffer.from(html)),
        ];
        htmlIncludes = marker;
        break;
      case 'alternative':
        body = [
          `Content-Type: multipart/alternative; boundary="${boundary}"`,
          '',
          `--${boundary}`,
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: 7bit',
          '',
          wrap(text),
          `--${boundary}`,
          'Content-Type: text/html; charset=utf-8',
          'Content-Transfer-Encoding: base64',
          '',
          base64Lines(Buffer.from(html)),
          `--${boundary}--`,
        ];
        htmlIncludes = marker;
        break;
      case 'attachment':
      case 'rfc2231': {
        const size =
          index % 14 === 3
            ? Math.min(maxAttachment, 1024 * 1024 + random.int(maxAttachment))
            : 2_000 + random.int(typicalAttachment);
        const data = bytes(random, size);
        const filename = kind === 'rfc2231' ? `Übersicht €-Bericht ${index}.pdf` : `report-${index}.pdf`;
        const disposition =
          kind === 'rfc2231'
            ? `Content-Disposition: attachment;\r\n filename*=utf-8''${encodeURIComponent(filename).replace(/'/g, '%27')}`
            : `Content-Disposition: attachment; filename="${filename}"`;
        body = [
          `Content-Type: multipart/mixed; boundary="${boundary}"`,
          '',
          `--${boundary}`,
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: 7bit',
          '',
          wrap(text),
          `--${boundary}`,
          `Content-Type: application/pdf${kind === 'rfc2231' ? '' : `; name="${filename}"`}`,
          disposition,
          'Content-Transfer-Encoding: base64',
          '',
          base64Lines(data),
          `--${boundary}--`,
        ];
        attachments.push({ filename, contentType: 'application/pdf', size, inline: false });
        break;
      }
      case 'related': {
        const image = bytes(random, 800 + random.int(4000));
        const cid = `logo.${index}@${options.domain}`;
        body = [
          `Content-Type: multipart/related; boundary="${boundary}"`,
          '',
          `--${boundary}`,
          'Content-Type: text/html; charset=utf-8',
          'Content-Transfer-Encoding: base64',
          '',
          base64Lines(Buffer.from(html.replace('<body>', `<body><img src="cid:${cid}">`))),
          `--${boundary}`,
          'Content-Type: image/png; name="logo.png"',
          `Content-ID: <${cid}>`,
          'Content-Disposition: inline; filename="logo.png"',
          'Content-Transfer-Encoding: base64',
          '',
          base64Lines(image),
          `--${boundary}--`,
        ];
        attachments.push({ filename: 'logo.png', contentType: 'image/png', size: image.length, inline: true });
        htmlIncludes = `cid:${cid}`;
        break;
      }
      case 'unparseable':
        // A header block over mailparser's 1 MB limit: the parser refuses it, the server does not.
        headers.push(`X-Oversized: ${'x'.repeat(1_100_000)}`);
        body = ['Content-Type: text/plain; charset=utf-8', '', wrap(text)];
        textIncludes = null;
        break;
    }

    const raw = Buffer.from(`${[...headers, ...body].join('\r\n')}\r\n`);
    messages.push({
      raw,
      expect: {
        messageId,
        subject,
        fromName,
        fromAddress,
        to: [toAddress],
        cc: ccAddress ? [ccAddress] : [],
        inReplyTo: parent ? parent.expect.messageId : null,
        references,
        textIncludes,
        htmlIncludes,
        attachments,
        threadKey: parent ? parent.expect.threadKey : messageId,
        ...(kind === 'unparseable' ? { unparseable: true } : {}),
      },
    });
  }
  return messages;
}

function encodedSubjectFor(decoded: string): string {
  return `=?UTF-8?B?${Buffer.from(decoded.replace(/^Re: /, '')).toString('base64')}?=`;
}

/** Writes messages as .eml files for mail-stack's Maildir seeding; returns the paths in order. */
export function writeCorpus(directory: string, messages: readonly GeneratedMessage[], prefix = 'm'): string[] {
  mkdirSync(directory, { recursive: true });
  return messages.map((message, index) => {
    const path = join(directory, `${prefix}${String(index).padStart(6, '0')}.eml`);
    writeFileSync(path, message.raw);
    return path;
  });
}
