import { BadRequestException, createParamDecorator, ValidationPipe } from '@nestjs/common';
import type { ExecutionContext, ValidationPipeOptions } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

const REQUEST_VALIDATION: ValidationPipeOptions = { whitelist: true, forbidNonWhitelisted: true, transform: true };

/** How every request DTO (body, query, path) is validated: unknown fields refused, the DTO built from the input. */
export function requestValidationPipe(): ValidationPipe {
  return new ValidationPipe(REQUEST_VALIDATION);
}

const bodyOrEmpty = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => {
  const body = context.switchToHttp().getRequest<FastifyRequest>().body;
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequestException('The body must be a JSON object, or left out');
  return body;
});

/**
 * The body of a route that was called without one before it took any, so leaving it out must
 * still work: a missing body is `{}`, then validated as @Body() is; anything but an object is refused. @Body() itself cannot be used,
 * since SafeInputPipe refuses a missing body for a DTO, rightly everywhere else.
 */
export const OptionalBody = (): ParameterDecorator =>
  bodyOrEmpty(new ValidationPipe({ ...REQUEST_VALIDATION, validateCustomDecorators: true }));
