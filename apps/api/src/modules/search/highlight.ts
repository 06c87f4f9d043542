import type { MessageFilter } from '@app/database';

/** Characters of context a highlight shows, about two lines of a list row. */
const WINDOW = 200;
/** How far before the first match the window starts, so the match reads in its sentence. */
const LEAD = 60;
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The words a search looks for in text: those of its free words, phrases and `subject:` terms,
 * except under a negation (a message shown for what it lacks has nothing to highlight).
 */
export function highlightTerms(filter: MessageFilter): string[] {
  const terms = new Set<string>();
  const visit = (node: MessageFilter): void => {
    if (node.kind === 'and' || node.kind === 'or') node.children.forEach(visit);
    else if (node.kind === 'text' || node.kind === 'subject')
      for (const word of fold(node.value).match(WORD) ?? []) terms.add(word);
  };
  visit(filter);
  return [...terms];
}

/** Lower case without accents, as the search index folds text ("Café" matches "cafe"). */
function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The folded text, and for each of its characters the index of the original one it came from. */
function foldWithOrigins(text: string): { folded: string; origins: number[] } {
  let folded = '';
  const origins: number[] = [];
  for (let index = 0; index < text.length;) {
    const codePoint = text.codePointAt(index) ?? 0;
    const char = String.fromCodePoint(codePoint);
    const piece = fold(char);
    folded += piece;
    for (let count = 0; count < piece.length; count += 1) origins.push(index);
    index += char.length;
  }
  origins.push(text.length);
  return { folded, origins };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * A short passage of `text` around the first whole-word match of any term, HTML-escaped, each
 * match wrapped in `<mark>`; null when no term occurs. Matching follows the index: whole words,
 * case and accents ignored.
 */
export function highlight(text: string, terms: readonly string[]): string | null {
  if (terms.length === 0 || !text) return null;
  const { folded, origins } = foldWithOrigins(text);
  const matches: [number, number][] = [];
  for (const word of folded.matchAll(WORD)) {
    if (!terms.includes(word[0])) continue;
    const start = origins[word.index] ?? 0;
    const end = origins[word.index + word[0].length] ?? text.length;
    matches.push([start, end]);
  }
  const first = matches[0];
  if (!first) return null;

  let from = Math.max(0, first[0] - LEAD);
  if (from > 0) {
    // Start at a word's beginning rather than inside one.
    const space = text.slice(from, first[0]).search(/\s/u);
    if (space >= 0) from += space + 1;
  }
  const to = Math.min(text.length, from + WINDOW);
  let passage = '';
  let at = from;
  for (const [start, end] of matches) {
    if (start < from || end > to) continue;
    passage += `${escapeHtml(text.slice(at, start))}<mark>${escapeHtml(text.slice(start, end))}</mark>`;
    at = end;
  }
  passage += escapeHtml(text.slice(at, to));
  const compact = passage.replace(/\s+/gu, ' ').trim();
  return `${from > 0 ? '…' : ''}${compact}${to < text.length ? '…' : ''}`;
}
