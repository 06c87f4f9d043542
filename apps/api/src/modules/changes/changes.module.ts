import { Module } from '@nestjs/common';

import { ChangesController } from './changes.controller.js';
import { ChangesService } from './changes.service.js';

/** GET /api/changes: an account's change log from a cursor. */
@Module({ controllers: [ChangesController], providers: [ChangesService], exports: [ChangesService] })
export class ChangesModule {}
