import type { AppConfig } from '@app/config';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { SwaggerDocumentOptions } from '@nestjs/swagger';

/**
 * Sends, drafts and uploads share /api/compose and keep the operation ids the API published when
 * one ComposeController served all three: generated clients name their methods after them.
 */
const COMPOSE_CONTROLLERS = new Set(['SendsController', 'DraftsController', 'UploadsController']);

const API_DOCUMENT_OPTIONS: SwaggerDocumentOptions = {
  operationIdFactory: (controllerKey, methodKey) => `${COMPOSE_CONTROLLERS.has(controllerKey) ? 'ComposeController' : controllerKey}_${methodKey}`,
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
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}
