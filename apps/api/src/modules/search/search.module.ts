import { Module } from '@nestjs/common';

import { MessagesModule } from '../messages/messages.module.js';
import { SearchController } from './search.controller.js';
import { SearchService } from './search.service.js';

/** Search is a message list with a parsed filter, so it builds on the messages module. */
@Module({
  imports: [MessagesModule],
  controllers: [SearchController],
  providers: [SearchService],
})
export class SearchModule {}
