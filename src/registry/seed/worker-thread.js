// Entry of the seed generator's worker thread. Worker threads do not inherit the tsx loader the main
// thread registered (Node 20), so this plain JavaScript file registers it before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
