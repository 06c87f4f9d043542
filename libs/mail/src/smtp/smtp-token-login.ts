/**
 * SMTP AUTH with an OAuth2 access token. nodemailer runs XOAUTH2 only, and only when it may fetch
 * tokens itself; this handler takes the token it is given and prefers OAUTHBEARER (RFC 7628) when
 * the server advertises it, XOAUTH2 (Google's format, also Microsoft's) otherwise.
 */
export const TOKEN_LOGIN_METHOD = 'OAUTHBEARER';

interface SmtpReply {
  status: number;
  text: string;
  response: string;
}

interface CustomAuthContext {
  auth: { credentials: { user: string; pass: string } };
  authMethods: string[];
  sendCommand: (command: string) => Promise<SmtpReply>;
}

const SASL_SEPARATOR = '\x01';

function oauthBearerPayload(user: string, token: string): string {
  // RFC 7628 section 3.1: a GS2 header whose authzid escapes "," and "=", then key=value fields.
  const authzid = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
  return `n,a=${authzid},${SASL_SEPARATOR}auth=Bearer ${token}${SASL_SEPARATOR}${SASL_SEPARATOR}`;
}

function xoauth2Payload(user: string, token: string): string {
  return `user=${user}${SASL_SEPARATOR}auth=Bearer ${token}${SASL_SEPARATOR}${SASL_SEPARATOR}`;
}

/** nodemailer's custom authentication handler: resolves once the server accepted the token. */
export async function tokenLogin(context: CustomAuthContext): Promise<void> {
  const { user, pass: token } = context.auth.credentials;
  const bearer = context.authMethods.map((method) => method.toUpperCase()).includes('OAUTHBEARER');
  const payload = bearer ? oauthBearerPayload(user, token) : xoauth2Payload(user, token);
  let reply = await context.sendCommand(
    `AUTH ${bearer ? 'OAUTHBEARER' : 'XOAUTH2'} ${Buffer.from(payload, 'utf8').toString('base64')}`,
  );
  // A refusal first comes as a 334 challenge carrying the error as JSON; the client acknowledges it
  // (OAUTHBEARER with a lone %x01, XOAUTH2 with an empty line) to get the final 535.
  if (reply.status === 334) reply = await context.sendCommand(bearer ? 'AQ==' : '');
  if (reply.status !== 235) {
    throw Object.assign(new Error(`Invalid login: ${reply.response}`), {
      code: 'EAUTH',
      response: reply.response,
      responseCode: reply.status,
    });
  }
}
