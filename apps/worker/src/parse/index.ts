import { MessageParseService } from './message-parse.service.js';

/** What the parse-message processor needs, besides the libs' modules. */
export const PARSE_PROVIDERS = [MessageParseService];
