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

/**
 * What went well ("Saved.", a delivered test event), or an outcome to report. Titles are in the text
 * colour: Mantine's green title on its light green is about 4:1, under the 4.5:1 AA asks.
 */
export function OutcomeAlert({
  ok,
  title,
  children,
}: {
  ok: boolean;
  title?: string | undefined;
  children?: ReactNode;
}): ReactNode {
  return (
    <Alert
      color={ok ? 'green' : 'red'}
      role="status"
      title={title}
      styles={ok ? { title: { color: 'var(--mantine-color-text)' } } : {}}
    >
      {children}
    </Alert>
  );
}
