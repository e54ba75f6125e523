import { useState } from 'react';
import { ApiError } from './api.ts';

/**
 * Runs a form's API call: `busy` while it runs, and its error kept (as the API's problem details) for
 * the form to show next to the fields it names, or in a ProblemAlert.
 */
export function useCall() {
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async (call: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await call();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, String(caught), undefined, []));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}
