import { validateCronExpression } from 'cron';
import { registerDecorator } from 'class-validator';
import type { ValidationOptions } from 'class-validator';

export function IsCronExpression(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isCronExpression',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `${String(propertyName)} must be a cron expression (e.g. "0 * * * *")`, ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && validateCronExpression(value).valid,
      },
    });
  };
}
