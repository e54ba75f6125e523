import { useState } from 'react';
import { ApiError } from './api.ts';

/**
 * Runs a form's API call: `busy` while it runs, `done` once the last call succeeded (a form says
 * "Saved."), and its error kept (as the API's problem details) for the form to show next to the
 * fields it names, or in a ProblemAlert.
 */
export function useCall() {
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const run = async (call: () => Promise<unknown>) => {
    setBusy(true);
    setDone(false);
    setError(undefined);
    try {
      await call();
      setDone(true);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, String(caught), undefined, []));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, done, run };
}
