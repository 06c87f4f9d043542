import type { AppConfig } from '@app/config';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, getSchemaPath, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject, SwaggerDocumentOptions } from '@nestjs/swagger';

import { ErrorBodyDto } from './common/dto/error-body.dto.js';

/**
 * Sends, drafts and uploads share /api/compose and keep the operation ids the API published when
 * one ComposeController served all three: generated clients name their methods after them.
 */
const COMPOSE_CONTROLLERS = new Set(['SendsController', 'DraftsController', 'UploadsController']);

const API_DOCUMENT_OPTIONS: SwaggerDocumentOptions = {
  extraModels: [ErrorBodyDto],
  operationIdFactory: (controllerKey, methodKey) =>
    `${COMPOSE_CONTROLLERS.has(controllerKey) ? 'ComposeController' : controllerKey}_${methodKey}`,
};

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
    API_DOCUMENT_OPTIONS,
  );
  SwaggerModule.setup('docs', app, withErrorBodies(document), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}

/** Every declared 4xx/5xx response gets the one error body schema, so controllers declare only status and description. */
function withErrorBodies(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
      for (const [status, response] of Object.entries(
        (operation as { responses: Record<string, { content?: unknown }> }).responses,
      )) {
        if (Number(status) >= 400 && response.content === undefined)
          response.content = { 'application/json': { schema: { $ref: getSchemaPath(ErrorBodyDto) } } };
      }
    }
  }
  return document;
}
