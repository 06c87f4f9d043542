import { Module } from '@nestjs/common';

import { ChangesModule } from '../changes/changes.module.js';
import { ChangeEventStreams } from './change-event-streams.js';
import { EventsController } from './events.controller.js';

/** GET /api/events: an account's change log as server-sent events. */
@Module({ imports: [ChangesModule], controllers: [EventsController], providers: [ChangeEventStreams] })
export class EventsModule {}
