import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiFoundResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { DomainError } from '@app/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';

import type { AuthenticatedRequest } from '../../auth/authenticated-request.js';
import { Public } from '../../auth/public.decorator.js';
import {
  AuthorizationCallbackQueryDto,
  AuthorizationCompletedDto,
  AuthorizationStartedDto,
  StartAuthorizationDto,
} from './dto/oauth.dto.js';
import { OAuthStateInvalidError } from './errors.js';
import { ProviderIdPipe } from './provider-id.pipe.js';
import { OAuthFlowService } from './oauth-flow.service.js';

const PROVIDER = { name: 'provider', example: 'google', description: 'An oauth2 provider of GET /api/providers' };

@ApiTags('oauth')
@Controller('oauth')
export class OAuthController {
  constructor(private readonly flow: OAuthFlowService) {}

  @Post(':provider/start')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiParam(PROVIDER)
  @ApiOkResponse({ type: AuthorizationStartedDto })
  @ApiNotFoundResponse({ description: '`oauth_provider_not_found`' })
  @ApiUnprocessableEntityResponse({
    description: '`oauth_provider_unavailable`: unknown provider, no client id, or OAUTH_REDIRECT_BASE_URL unset',
  })
  async start(
    @Param('provider', ProviderIdPipe) provider: string,
    @Body() body: StartAuthorizationDto,
    @Req() request: FastifyRequest,
  ): Promise<AuthorizationStartedDto> {
    const subject = (request.raw as AuthenticatedRequest).subject ?? null;
    const started = await this.flow.start(provider, subject, body.loginHint);
    return { authorizeUrl: started.url, expiresAt: started.expiresAt.toISOString() };
  }

  /**
   * The provider sends the browser here; it carries no bearer token, the signed state is what
   * authenticates it. With OAUTH_COMPLETION_URL the browser is sent on there (302) with the
   * outcome; a refused state is always a 400, so a forged or replayed callback redirects nowhere.
   */
  @Get(':provider/callback')
  @Public()
  @ApiParam(PROVIDER)
  @ApiOkResponse({ type: AuthorizationCompletedDto, description: 'Without OAUTH_COMPLETION_URL' })
  @ApiFoundResponse({
    description: 'To OAUTH_COMPLETION_URL with status=connected&accountId=… or status=failed&error=…',
  })
  @ApiBadRequestResponse({ description: '`oauth_state_invalid`: missing, altered, expired or replayed state' })
  async callback(
    @Param('provider', ProviderIdPipe) provider: string,
    @Query() query: AuthorizationCallbackQueryDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    let completed: { accountId: string; email: string };
    try {
      completed = await this.flow.complete(provider, query);
    } catch (error: unknown) {
      const target =
        error instanceof DomainError && !(error instanceof OAuthStateInvalidError)
          ? this.flow.completionUrl({ error: error.code })
          : null;
      if (!target) throw error;
      await reply.redirect(target, 302);
      return;
    }
    const target = this.flow.completionUrl({ accountId: completed.accountId });
    if (target) await reply.redirect(target, 302);
    else await reply.status(200).send({ status: 'connected', ...completed } satisfies AuthorizationCompletedDto);
  }
}
