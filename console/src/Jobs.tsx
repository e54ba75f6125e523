import { Button, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from './api.ts';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * Long jobs (async searches, exports, imports, ODK Central pulls): status, progress, attempts,
 * duration and error, refreshed every few seconds; a job that has not finished can be cancelled.
 */

interface Job {
  id: string;
  kind: string;
  status: string;
  progress: { done: number; total: number | null; percent: number | null };
  attempts: number;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

const durationOf = (job: Job) => {
  if (!job.started_at) {
    return '—';
  }
  const ms = Date.parse(job.finished_at ?? new Date().toISOString()) - Date.parse(job.started_at);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
};

export function Jobs({ texts }: { texts: Texts }) {
  const [jobs, setJobs] = useState<Job[] | undefined>();
  const [error, setError] = useState<ApiError | undefined>();

  const load = useCallback(() => {
    api<{ items: Job[] }>('GET', '/api/v1/jobs?limit=100').then((page) => setJobs(page.items), setError);
  }, []);
  useEffect(() => {
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [load]);

  const cancel = async (job: Job) => {
    try {
      await api('POST', `/api/v1/jobs/${job.id}/cancel`, {});
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : undefined);
    }
    load();
  };

  return (
    <Stack>
      <Title order={1}>{texts.jobsTitle}</Title>
      <Text>{texts.jobsHelp}</Text>
      <ProblemAlert error={error} />
      {jobs && jobs.length === 0 && <Text>{texts.noJobs}</Text>}
      {jobs && jobs.length > 0 && (
        <Table striped aria-label={texts.jobsTitle}>
          <ColumnHeads
            labels={[
              texts.kind,
              texts.status,
              texts.progress,
              texts.attempts,
              texts.duration,
              texts.lastError,
              texts.actions,
            ]}
          />
          <Table.Tbody>
            {jobs.map((job) => (
              <Table.Tr key={job.id}>
                <Table.Td>{job.kind}</Table.Td>
                <Table.Td>{job.status}</Table.Td>
                <Table.Td miw={160}>
                  <Progress
                    value={job.progress.percent ?? 0}
                    aria-label={`${texts.progress} ${job.kind}`}
                    color={job.status === 'failed' ? 'red.9' : undefined}
                  />
                  <Text size="xs">
                    {job.progress.total === null
                      ? job.progress.done
                      : `${job.progress.done} / ${job.progress.total}`}
                  </Text>
                </Table.Td>
                <Table.Td>{job.attempts}</Table.Td>
                <Table.Td>{durationOf(job)}</Table.Td>
                <Table.Td>{job.error ?? '—'}</Table.Td>
                <Table.Td>
                  {!FINISHED.has(job.status) && (
                    <Button
                      size="compact-sm"
                      variant="outline"
                      aria-label={`${texts.cancel} ${job.kind} ${job.id}`}
                      onClick={() => void cancel(job)}
                    >
                      {texts.cancel}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
