/** How to leave a mailing list, from List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058). */
export interface ListUnsubscribe {
  mailto: string | null;
  url: string | null;
  /** The list takes an HTTPS POST of `List-Unsubscribe=One-Click` to `url`, no page to visit. */
  oneClick: boolean;
}

/** What the receiving server found checking the sender, from its Authentication-Results header (RFC 8601). */
export interface AuthenticationResults {
  authservId: string;
  spf: string | null;
  dkim: string | null;
  dmarc: string | null;
}

type Headers = Readonly<Record<string, string | string[]>>;

function values(headers: Headers, name: string): string[] {
  const value = headers[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function listUnsubscribe(headers: Headers): ListUnsubscribe | null {
  const [header] = values(headers, 'list-unsubscribe');
  if (!header) return null;
  let mailto: string | null = null;
  let url: string | null = null;
  for (const [, target] of header.matchAll(/<([^>]*)>/gu)) {
    const candidate = target?.trim() ?? '';
    if (!mailto && /^mailto:/iu.test(candidate)) mailto = candidate;
    else if (!url && /^https?:\/\//iu.test(candidate) && URL.canParse(candidate)) url = candidate;
  }
  if (!mailto && !url) return null;
  const post = values(headers, 'list-unsubscribe-post')[0]?.replace(/\s+/gu, '') ?? '';
  const oneClick =
    url !== null && url.toLowerCase().startsWith('https://') && /^List-Unsubscribe=One-Click$/iu.test(post);
  return { mailto, url, oneClick };
}

/** RFC 8601 comments, "(…)", which may hold any text, semicolons included. */
function withoutComments(value: string): string {
  let result = '';
  let depth = 0;
  for (const char of value) {
    if (char === '(') depth += 1;
    else if (char === ')' && depth > 0) depth -= 1;
    else if (depth === 0) result += char;
  }
  return result;
}

/**
 * The results of the first Authentication-Results header whose authserv-id `trusted` accepts.
 * Anyone can write such a header into a message before it is sent; only the one the account's
 * own receiving server added means anything, and servers add theirs on top, so the first trusted
 * one is taken. Of several DKIM signatures, one that passed is what counts.
 */
export function authenticationResults(
  headers: Headers,
  trusted: (authservId: string) => boolean,
): AuthenticationResults | null {
  for (const header of values(headers, 'authentication-results')) {
    const [first, ...results] = withoutComments(header).split(';');
    const authservId = first?.trim().split(/\s+/u)[0]?.toLowerCase() ?? '';
    if (!authservId || !trusted(authservId)) continue;
    const found: Record<'spf' | 'dkim' | 'dmarc', string[]> = { spf: [], dkim: [], dmarc: [] };
    for (const result of results) {
      const match = /^\s*(spf|dkim|dmarc)\s*=\s*([a-z]+)/iu.exec(result);
      const method = match?.[1]?.toLowerCase() as 'spf' | 'dkim' | 'dmarc' | undefined;
      if (method && match?.[2]) found[method].push(match[2].toLowerCase());
    }
    const pick = (list: string[]): string | null => (list.includes('pass') ? 'pass' : (list[0] ?? null));
    return { authservId, spf: pick(found.spf), dkim: pick(found.dkim), dmarc: pick(found.dmarc) };
  }
  return null;
}
