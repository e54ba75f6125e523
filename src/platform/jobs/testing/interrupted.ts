import { Type } from '@sinclair/typebox';
import { defineJobKind, type JobKind } from '../kind.ts';

const Payload = Type.Object({ label: Type.String() });

/**
 * Test fixture: the kind whose first run is cut short by a gateway killed mid-run (crash-child.ts)
 * and which the restarted gateway runs again. A short expiry lets PostgreSQL maintenance reclaim it.
 */
export const interruptedKind = (run: JobKind<typeof Payload>['run']) =>
  defineJobKind({
    name: 'test.interrupted',
    payload: Payload,
    retryLimit: 2,
    retryDelaySeconds: 0,
    retryBackoff: false,
    expireInSeconds: 2,
    concurrency: 2,
    run,
  });
