import type { IncomingMessage } from 'node:http';

import { AppConfig } from '@app/config';
import { Module, RequestMethod } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Params } from 'nestjs-pino';
import type { Level } from 'pino';

import { ACCESS_LOG_KIND, logDestinations } from './log-destinations.js';
import { requestIdFrom } from './request-id.js';

const PINO_LEVELS: Record<AppConfig['log']['level'], Level> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
};

/** Whatever authenticated the request leaves its tenant here, so the access line can carry it. */
export interface TenantTaggedRequest extends IncomingMessage {
  tenantId?: string;
}

/** The fields of the access line besides the response: the request, the tenant once authentication named it, the kind. */
function accessLine(req: TenantTaggedRequest, value: Record<string, unknown>): Record<string, unknown> {
  return { req, ...(req.tenantId ? { tenant_id: req.tenantId } : {}), ...value, kind: ACCESS_LOG_KIND };
}

function pinoParams(config: AppConfig, app: string): Params {
  const level = PINO_LEVELS[config.log.level];
  return {
    pinoHttp: [
      {
        level,
        base: { service: config.serviceName, app, version: config.serviceVersion },
        messageKey: 'message',
        timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
        formatters: { level: (label) => ({ level: label }) },
        redact: {
          paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.encryptedPassword'],
          censor: '[redacted]',
        },
        genReqId: (req: IncomingMessage) => requestIdFrom(req),
        customAttributeKeys: { reqId: 'request_id', responseTime: 'duration_ms' },
        // The request's logger is bound to its id only, so lines logged while handling it carry
        // request_id; the access line adds the rest when the response is done. Per-request custom
        // props would cost a child logger at the start and another at the end, each serialising
        // its bindings.
        quietReqLogger: true,
        quietResLogger: true,
        customSuccessObject: (req: TenantTaggedRequest, _res, value: Record<string, unknown>) => accessLine(req, value),
        customErrorObject: (req: TenantTaggedRequest, _res, _error, value: Record<string, unknown>) =>
          accessLine(req, value),
        serializers: {
          req: (req: { id: string; method: string; url: string }) => ({ method: req.method, url: req.url }),
          res: (res: { statusCode: number }) => ({ status_code: res.statusCode }),
        },
      },
      logDestinations(level, config.log.dir),
    ],
    // A wildcard Nest recognises, so it also covers routes excluded from the /api prefix
    // (/health, /metrics) exactly once.
    forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
    renameContext: 'context',
  };
}

/** JSON logs for any of the apps; `app` tells the api, worker and scheduler lines apart. */
@Module({})
export class LoggingModule {
  static forRoot(app: string): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: (config: AppConfig) => pinoParams(config, app) }),
      ],
      exports: [LoggerModule],
    };
  }
}
