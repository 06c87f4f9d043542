// A parser thread that can never start (as when its modules fail to load); each attempt is logged
// next to this file, so a test can count how often the pool tried.
import { appendFileSync } from 'node:fs';
import { URL } from 'node:url';

appendFileSync(new URL('./starts.log', import.meta.url), 'start\n');
throw new Error('parser module failed to load');
