import { BadRequestException, Injectable } from '@nestjs/common';
import type { PipeTransform } from '@nestjs/common';

const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A provider id in a path: the shape OAUTH_PROVIDERS allows, so nothing else reaches a lookup or a URL. */
@Injectable()
export class ProviderIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!PROVIDER_ID.test(value)) throw new BadRequestException('provider must be a provider id (a-z, 0-9, _ and -)');
    return value;
  }
}
