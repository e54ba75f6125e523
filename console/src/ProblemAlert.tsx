import { Alert } from '@mantine/core';
import type { ReactNode } from 'react';
import type { ApiError } from './api.ts';

/**
 * The API's problem details (title, detail) when a request failed, unless a field of the form shows
 * the error next to itself (`fields`: the form's field names).
 */
export function ProblemAlert({
  error,
  fields = [],
}: {
  error: ApiError | undefined;
  fields?: string[];
}): ReactNode {
  if (!error || fields.some((field) => error.forField(field))) {
    return null;
  }
  return (
    <Alert color="red" role="alert" title={error.title}>
      {error.detail}
    </Alert>
  );
}
