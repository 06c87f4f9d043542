import { BadRequestException, Injectable } from '@nestjs/common';
import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';

/** In a `u` regular expression a paired surrogate is one code point, so only unpaired ones match. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/**
 * Why a string cannot be stored or sent, or null: PostgreSQL text and jsonb refuse U+0000, and
 * an unpaired UTF-16 surrogate (`"\ud800"` in JSON) has no UTF-8 encoding, so neither can reach
 * a column or a MIME header unchanged. Every other character is the caller's business.
 */
export function unstorableTextProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'contains U+0000';
  if (UNPAIRED_SURROGATE.test(value)) return 'contains an unpaired surrogate';
  return null;
}

const SOURCE_NAMES: Partial<Record<ArgumentMetadata['type'], string>> = {
  query: 'query parameter',
  param: 'path parameter',
};

/**
 * Names every object inherits (`__proto__`, `constructor`, `toString`, …): class-transformer
 * skips some and the ValidationPipe's whitelist takes the others for declared properties, so
 * `?toString=1` would be accepted where `?a=1` is refused. The JSON body parser refuses
 * `__proto__` already, and `constructor` only when it holds a `prototype`.
 */
const PROTOTYPE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * Global pipe, ahead of the ValidationPipe: refuses (400, naming the field) a request body,
 * query or path parameter holding a string that `unstorableTextProblem` rejects, at any depth and
 * in property names too, or a property named like a prototype. Bodies nest at most
 * MAX_JSON_DEPTH levels by then, so the walk is short.
 */
@Injectable()
export class SafeInputPipe implements PipeTransform<unknown, unknown> {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    // The ValidationPipe passes a missing or `null` body by, and the handler would take it for an empty one.
    if (
      metadata.type === 'body' &&
      isDto(metadata.metatype) &&
      (value === null || typeof value !== 'object' || Array.isArray(value))
    ) {
      throw new BadRequestException('The body must be a JSON object');
    }
    const source = SOURCE_NAMES[metadata.type];
    const root = source && metadata.data ? `${source} ${metadata.data}` : (source ?? '');
    const problem = findUnsafeInput(value, root);
    if (problem) throw new BadRequestException(problem);
    return value;
  }
}

const PRIMITIVE_TYPES = new Set<unknown>([String, Number, Boolean, Object, Array]);

function isDto(metatype: ArgumentMetadata['metatype']): boolean {
  return metatype !== undefined && !PRIMITIVE_TYPES.has(metatype);
}

/** `subject`, `to[1].name`, `query parameter folder`: how the field is named in the message. */
function fieldName(parent: string, key: string | number, source: string): string {
  if (typeof key === 'number') return `${parent || 'body'}[${key}]`;
  if (parent === source && source !== '') return `${source} ${key}`;
  return parent ? `${parent}.${key}` : key;
}

function findUnsafeInput(value: unknown, root: string): string | null {
  const pending: [unknown, string][] = [[value, root]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, name] = next;
    if (typeof current === 'string') {
      const problem = unstorableTextProblem(current);
      if (problem) return `${name || 'body'} ${problem}`;
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push([item, fieldName(name, index, root)]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const keyProblem = unstorableTextProblem(key);
        if (keyProblem) return `a property name in ${name || 'body'} ${keyProblem}`;
        if (PROTOTYPE_KEYS.has(key)) return `${fieldName(name, key, root)} is not allowed`;
        pending.push([item, fieldName(name, key, root)]);
      }
    }
  }
  return null;
}
