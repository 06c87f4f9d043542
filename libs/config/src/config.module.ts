import { Global, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';

import { AppConfig } from './app-config.js';

/** Makes the already-validated configuration injectable by its class everywhere. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}
