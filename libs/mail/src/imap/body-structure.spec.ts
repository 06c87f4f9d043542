import type { MessageStructureObject } from 'imapflow';

import { attachmentsOfStructure } from './body-structure.js';

describe('attachmentsOfStructure', () => {
  it('lists attachments and inline images with their part ids, not the readable text', () => {
    const structure: MessageStructureObject = {
      type: 'multipart/mixed',
      childNodes: [
        {
          type: 'multipart/related',
          part: '1',
          childNodes: [
            { type: 'text/html', part: '1.1', size: 900, encoding: 'quoted-printable' },
            {
              type: 'image/png',
              part: '1.2',
              size: 780,
              encoding: 'base64',
              id: '<logo@x>',
              disposition: 'inline',
              dispositionParameters: { filename: 'logo.png' },
            },
          ],
        },
        {
          type: 'application/pdf',
          part: '2',
          size: 7800,
          encoding: 'base64',
          disposition: 'attachment',
          dispositionParameters: { filename: 'report.pdf' },
        },
        {
          type: 'text/plain',
          part: '3',
          size: 50,
          encoding: '7bit',
          disposition: 'attachment',
          dispositionParameters: { filename: 'notes.txt' },
        },
        { type: 'message/rfc822', part: '4', size: 3000, encoding: '7bit' },
      ],
    };

    const sut = attachmentsOfStructure(structure);

    expect(
      sut.map(({ partId, filename, contentType, inline, contentId }) => ({
        partId,
        filename,
        contentType,
        inline,
        contentId,
      })),
    ).toEqual([
      { partId: '1.2', filename: 'logo.png', contentType: 'image/png', inline: true, contentId: '<logo@x>' },
      { partId: '2', filename: 'report.pdf', contentType: 'application/pdf', inline: false, contentId: null },
      { partId: '3', filename: 'notes.txt', contentType: 'text/plain', inline: false, contentId: null },
      { partId: '4', filename: null, contentType: 'message/rfc822', inline: false, contentId: null },
    ]);
    expect(sut[1]?.size).toBeLessThan(7800);
  });

  it('treats a single-part non-text message as one attachment, part 1', () => {
    expect(attachmentsOfStructure({ type: 'application/pdf', size: 10, parameters: { name: 'a.pdf' } })).toMatchObject([
      { partId: '1', filename: 'a.pdf' },
    ]);
  });
});
