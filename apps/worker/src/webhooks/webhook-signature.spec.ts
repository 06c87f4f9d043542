import { signatureHeader, verifySignature } from './webhook-signature.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const BODY = '{"id":"a:1","type":"draft.created"}';

describe('webhook signature', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 of the whole secret, as the README snippet checks', () => {
    // Computed independently: printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac "$SECRET"
    expect(signatureHeader(SECRET, BODY, 1_700_000_000)).toBe(
      't=1700000000,v1=b146e94e3d3bf314fc8130310092d0a03d23edad5393c6028901241880860a58',
    );
  });

  it('verifies its own header within the tolerance', () => {
    const sut = signatureHeader(SECRET, BODY, 1_700_000_000);

    expect(verifySignature(SECRET, sut, BODY, 1_700_000_000 + 299)).toBe(true);
    expect(verifySignature(SECRET, sut, BODY, 1_700_000_000 - 299)).toBe(true);
  });

  it('refuses a changed body, another secret, a stale or future timestamp and a malformed header', () => {
    const sut = signatureHeader(SECRET, BODY, 1_700_000_000);

    expect(verifySignature(SECRET, sut, BODY.replace('draft', 'send'), 1_700_000_000)).toBe(false);
    expect(verifySignature(`${SECRET}x`, sut, BODY, 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, sut, BODY, 1_700_000_000 + 301)).toBe(false);
    expect(verifySignature(SECRET, sut, BODY, 1_700_000_000 - 301)).toBe(false);
    expect(verifySignature(SECRET, sut.replace('t=1700000000', 't=1700000001'), BODY, 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, 'v1=abc', BODY, 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, 't=1700000000,v1=zz', BODY, 1_700_000_000)).toBe(false);
  });
});
