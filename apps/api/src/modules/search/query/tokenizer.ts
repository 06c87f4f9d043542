import { SearchParseError } from '../errors.js';

export type Token =
  | { type: 'word'; value: string; position: number }
  | { type: 'phrase'; value: string; position: number }
  /** `name:value`; `quoted` when the value was written in double quotes. */
  | { type: 'operator'; name: string; value: string; quoted: boolean; position: number }
  | { type: 'not'; position: number }
  | { type: 'or'; position: number }
  | { type: 'and'; position: number }
  | { type: 'open'; position: number }
  | { type: 'close'; position: number }
  | { type: 'end'; position: number };

export const OPERATOR_NAMES = ['from', 'to', 'cc', 'subject', 'has', 'is', 'in', 'before', 'after'] as const;
export type OperatorName = (typeof OPERATOR_NAMES)[number];

const OPERATORS: ReadonlySet<string> = new Set(OPERATOR_NAMES);

const isSpace = (char: string | undefined): boolean => char !== undefined && /\s/u.test(char);
/** Characters that end a bare word; a quote inside a word starts nothing and stays part of it. */
const endsWord = (char: string | undefined): boolean =>
  char === undefined || isSpace(char) || char === '(' || char === ')';

/**
 * Splits a query into tokens. Works on code points, so positions count characters as a user
 * sees them even for text outside the Basic Multilingual Plane.
 */
export function tokenize(input: string): Token[] {
  const chars = Array.from(input);
  const tokens: Token[] = [];
  let index = 0;

  const readQuoted = (start: number): { value: string; next: number } => {
    // `start` is the opening quote; a backslash escapes a quote or a backslash inside.
    let value = '';
    let cursor = start + 1;
    while (cursor < chars.length) {
      const char = chars[cursor];
      if (char === '\\' && (chars[cursor + 1] === '"' || chars[cursor + 1] === '\\')) {
        value += chars[cursor + 1];
        cursor += 2;
        continue;
      }
      if (char === '"') return { value, next: cursor + 1 };
      value += char;
      cursor += 1;
    }
    throw new SearchParseError('unterminated quote', start + 1);
  };

  const readBare = (start: number): { value: string; next: number } => {
    let cursor = start;
    while (!endsWord(chars[cursor])) cursor += 1;
    return { value: chars.slice(start, cursor).join(''), next: cursor };
  };

  while (index < chars.length) {
    const char = chars[index];
    const position = index + 1;
    if (isSpace(char)) {
      index += 1;
    } else if (char === '(') {
      tokens.push({ type: 'open', position });
      index += 1;
    } else if (char === ')') {
      tokens.push({ type: 'close', position });
      index += 1;
    } else if (char === '"') {
      const { value, next } = readQuoted(index);
      tokens.push({ type: 'phrase', value, position });
      index = next;
    } else if (
      char === '-' &&
      !isSpace(chars[index + 1]) &&
      chars[index + 1] !== undefined &&
      chars[index + 1] !== ')'
    ) {
      tokens.push({ type: 'not', position });
      index += 1;
    } else {
      const operator = /^([A-Za-z]+):/u.exec(chars.slice(index, index + 32).join(''));
      const name = operator?.[1];
      if (name !== undefined && chars[index + name.length + 1] !== '/') {
        const lowered = name.toLowerCase();
        if (!OPERATORS.has(lowered)) {
          throw new SearchParseError(`unknown operator "${name}:" (put the word in quotes to search for it)`, position);
        }
        const valueStart = index + name.length + 1;
        if (chars[valueStart] === '"') {
          const { value, next } = readQuoted(valueStart);
          if (value.trim() === '') throw new SearchParseError(`empty value for ${lowered}:`, position);
          tokens.push({ type: 'operator', name: lowered, value, quoted: true, position });
          index = next;
        } else {
          const { value, next } = readBare(valueStart);
          if (value === '') throw new SearchParseError(`empty value for ${lowered}:`, position);
          tokens.push({ type: 'operator', name: lowered, value, quoted: false, position });
          index = next;
        }
        continue;
      }
      const { value, next } = readBare(index);
      if (value === 'OR') tokens.push({ type: 'or', position });
      else if (value === 'AND') tokens.push({ type: 'and', position });
      else tokens.push({ type: 'word', value, position });
      index = next;
    }
  }
  tokens.push({ type: 'end', position: chars.length + 1 });
  return tokens;
}
