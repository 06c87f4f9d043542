export { baseSubject, emptyThreadLayer, ThreadResolver } from './thread-resolver.js';
export type { ThreadLayer, ThreadResolution } from './thread-resolver.js';
