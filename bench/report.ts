/** `npm run bench:report`: rewrites bench/README.md's history section from bench/results/*.json (history.ts). */
import { readRuns, README, RESULTS_DIR, updateReadme } from './history.ts';

await updateReadme(README, readRuns(RESULTS_DIR));
console.log(`${README}: history section rewritten from ${RESULTS_DIR}/`);
