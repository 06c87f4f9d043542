import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { AccountsModule } from '../accounts/accounts.module.js';
import { OAuthController } from './oauth.controller.js';
import { OAuthFlowService } from './oauth-flow.service.js';

@Module({ imports: [MailModule, AccountsModule], controllers: [OAuthController], providers: [OAuthFlowService] })
export class OAuthModule {}
