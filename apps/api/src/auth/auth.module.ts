import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';

import { JwtAuthGuard } from './jwt-auth.guard.js';
import { TokenVerifier } from './token-verifier.js';

@Module({
  providers: [TokenVerifier, { provide: APP_GUARD, useClass: JwtAuthGuard }],
})
export class AuthModule {}
