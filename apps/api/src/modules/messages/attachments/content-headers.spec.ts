import { attachmentContentType, attachmentDisposition } from './content-headers.js';

describe('attachmentDisposition', () => {
  it.each([
    ['report.pdf', 'attachment; filename="report.pdf"'],
    ['Résumé 2024.pdf', `attachment; filename="Resume 2024.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf`],
    ['日本語.txt', `attachment; filename="___.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt`],
    ['say "hi"\\.txt', 'attachment; filename="say \\"hi\\"_.txt"; filename*=UTF-8\'\'say%20%22hi%22_.txt'],
    ["100% (it's).txt", `attachment; filename="100_ (it's).txt"; filename*=UTF-8''100%25%20%28it%27s%29.txt`],
    ['../../etc/passwd', 'attachment; filename=".._.._etc_passwd"'],
    ['evil\r\nSet-Cookie: x=1.txt', 'attachment; filename="evilSet-Cookie: x=1.txt"'],
    [null, 'attachment; filename="attachment"'],
    ['  ', 'attachment; filename="attachment"'],
  ])('encodes %j per RFC 6266', (filename, expected) => {
    expect(attachmentDisposition(filename)).toBe(expected);
  });
});

describe('attachmentContentType', () => {
  it.each([
    ['application/pdf', null, 'application/pdf'],
    ['Text/Plain', 'ISO-8859-1', 'text/plain; charset=iso-8859-1'],
    ['image/png', 'utf-8', 'image/png'],
    ['text/html\r\nX-Evil: 1', null, 'application/octet-stream'],
    ['text/plain', 'utf-8"; x=1', 'text/plain'],
    ['nonsense', null, 'application/octet-stream'],
  ])('answers %j (charset %j) as %j', (stored, charset, expected) => {
    expect(attachmentContentType(stored, charset)).toBe(expected);
  });
});
