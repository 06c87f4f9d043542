import { AppConfig } from '@app/config';
import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { ProviderDto, ProviderListDto } from './dto/provider.dto.js';

@ApiTags('accounts')
@ApiBearerAuth()
@Controller('providers')
export class ProvidersController {
  constructor(private readonly config: AppConfig) {}

  @Get()
  @ApiOkResponse({ type: ProviderListDto, description: 'The presets and the providers of OAUTH_PROVIDERS' })
  list(): ProviderListDto {
    const redirectConfigured = this.config.oauth.redirectBaseUrl !== null;
    return {
      items: [...this.config.oauth.providers.values()].map((provider) =>
        ProviderDto.from(provider, redirectConfigured),
      ),
    };
  }
}
