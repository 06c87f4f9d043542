import { BadRequestException } from '@nestjs/common';
import type { FastifyBodyParser, FastifyInstance } from 'fastify';

/**
 * The deepest request body the API defines nests 3 levels (a message, its `to` list, a recipient
 * object); 16 leaves room for new fields. Deeper documents are refused before JSON.parse, so
 * neither the parser nor class-transformer and class-validator, which recurse into every level,
 * ever see one (100,000 levels overflowed their stack).
 */
export const MAX_JSON_DEPTH = 16;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether the arrays and objects of `json` nest deeper than `maxDepth`, in one pass over the
 * bytes and constant memory. Brackets inside strings do not count; UTF-8 continuation bytes are
 * all above 0x7f, so they never look like one. Malformed JSON is left for JSON.parse to refuse.
 */
export function jsonNestsDeeperThan(json: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < json.length; index += 1) {
    const byte = json[index];
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * Fastify's own JSON parser (secure-json-parse: `__proto__` and `constructor` keys refused with
 * 400), behind the depth check. The size limit (bodyLimit, 413) applies before either runs, as
 * the body is read.
 */
export function depthLimitedJsonParser(fastify: FastifyInstance): FastifyBodyParser<Buffer> {
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const parse = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  return (request, body, done) => {
    if (jsonNestsDeeperThan(body, MAX_JSON_DEPTH)) {
      done(
        new BadRequestException(`The JSON body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`),
        undefined,
      );
      return;
    }
    void parse(request, body.toString('utf8'), done);
  };
}
