import type { AppConfig } from '@app/config';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, getSchemaPath, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';

import { ErrorBodyDto } from './common/dto/error-body.dto.js';

/** Swagger UI at /docs and the OpenAPI 3 document at /docs-json, both outside the /api prefix. */
export function setUpApiDocs(app: NestFastifyApplication, config: AppConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Mail service API')
      .setDescription('Multi-tenant IMAP/SMTP accounts, synced mailboxes, search and reliable sending.')
      .setVersion(config.serviceVersion)
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
    { extraModels: [ErrorBodyDto] },
  );
  SwaggerModule.setup('docs', app, withErrorBodies(document), { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}

/** Every declared 4xx/5xx response gets the one error body schema, so controllers declare only status and description. */
function withErrorBodies(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
      for (const [status, response] of Object.entries((operation as { responses: Record<string, { content?: unknown }> }).responses)) {
        if (Number(status) >= 400 && response.content === undefined) response.content = { 'application/json': { schema: { $ref: getSchemaPath(ErrorBodyDto) } } };
      }
    }
  }
  return document;
}
