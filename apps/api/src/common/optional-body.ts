import { createParamDecorator, ValidationPipe } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** How every request DTO (body, query, path) is validated: unknown fields refused, the DTO built from the input. */
export function requestValidationPipe(): ValidationPipe {
  return new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
}

const bodyOrEmpty = createParamDecorator(
  (_data: unknown, context: ExecutionContext): unknown =>
    context.switchToHttp().getRequest<FastifyRequest>().body ?? {},
);

/**
 * The body of a route that was called without one before it took any, so leaving it out must
 * still work: a missing body is `{}`, then validated as @Body() is. @Body() itself cannot be used,
 * since SafeInputPipe refuses a missing body for a DTO, rightly everywhere else.
 */
export const OptionalBody = (): ParameterDecorator => bodyOrEmpty(requestValidationPipe());
