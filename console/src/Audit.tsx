import { Alert, Anchor, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { api, type ApiError, type Client } from './api.ts';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * The audit trail: search it by system, operation, data subject, outcome and time; verify its hash
 * chain; and a data subject's access report (which systems accessed this person's data, when, why),
 * downloadable as CSV to hand over.
 */

interface Entry {
  seq: number;
  at: string;
  client_name: string | null;
  action: string;
  purpose: string | null;
  record_count: number;
  outcome: string;
}
interface Verification {
  ok: boolean;
  checked: number;
  first_broken_seq?: number;
  reason?: string;
}
interface Report {
  subject_id: string;
  accesses: number;
  by_client: {
    client_name: string | null;
    accesses: number;
    first_at: string;
    last_at: string;
    purposes: string[];
  }[];
}

const OUTCOMES = ['success', 'denied', 'error', 'invalid'];

function AuditSearch({ texts }: { texts: Texts }) {
  const [clients, setClients] = useState<Client[]>([]);
  const [filters, setFilters] = useState({
    client_id: '',
    action: '',
    subject_id: '',
    outcome: '',
    from: '',
    to: '',
  });
  const [entries, setEntries] = useState<Entry[] | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  useEffect(() => {
    api<{ items: Client[] }>('GET', '/api/v1/clients').then((page) => setClients(page.items), setError);
  }, []);
  const set = (change: Partial<typeof filters>) => setFilters((current) => ({ ...current, ...change }));

  const search = (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const query = new URLSearchParams({ limit: '100' });
    for (const [name, value] of Object.entries(filters)) {
      if (value) {
        query.set(name, name === 'from' || name === 'to' ? `${value}T00:00:00Z` : value);
      }
    }
    api<{ items: Entry[] }>('GET', `/api/v1/audit?${query}`).then((page) => setEntries(page.items), setError);
  };

  return (
    <form onSubmit={search} aria-labelledby="audit-search">
      <Stack gap="xs">
        <Title order={2} size="h3" id="audit-search">
          {texts.auditSearch}
        </Title>
        <Group align="flex-start">
          <Select
            label={texts.client}
            data={clients.map((client) => ({ value: client.id, label: client.name }))}
            value={filters.client_id || null}
            onChange={(value) => set({ client_id: value ?? '' })}
            clearable
            error={error?.forField('client_id')}
          />
          <TextInput
            label={texts.operation}
            placeholder="individual.read"
            value={filters.action}
            onChange={(event) => set({ action: event.currentTarget.value })}
            error={error?.forField('action')}
          />
          <TextInput
            label={texts.subject}
            value={filters.subject_id}
            onChange={(event) => set({ subject_id: event.currentTarget.value })}
            error={error?.forField('subject_id')}
          />
          <Select
            label={texts.outcome}
            data={OUTCOMES}
            value={filters.outcome || null}
            onChange={(value) => set({ outcome: value ?? '' })}
            clearable
            error={error?.forField('outcome')}
          />
          <TextInput
            label={texts.from}
            placeholder="YYYY-MM-DD"
            value={filters.from}
            onChange={(event) => set({ from: event.currentTarget.value })}
            error={error?.forField('from')}
          />
          <TextInput
            label={texts.to}
            placeholder="YYYY-MM-DD"
            value={filters.to}
            onChange={(event) => set({ to: event.currentTarget.value })}
            error={error?.forField('to')}
          />
        </Group>
        <Group>
          <Button type="submit">{texts.search}</Button>
        </Group>
        <ProblemAlert error={error} fields={['client_id', 'action', 'subject_id', 'outcome', 'from', 'to']} />
        {entries && (
          <Table striped aria-label={texts.auditEntries}>
            <ColumnHeads
              labels={[
                texts.when,
                texts.client,
                texts.operation,
                texts.purpose,
                texts.records,
                texts.outcome,
              ]}
            />
            <Table.Tbody>
              {entries.map((entry) => (
                <Table.Tr key={entry.seq}>
                  <Table.Td>{new Date(entry.at).toLocaleString()}</Table.Td>
                  <Table.Td>{entry.client_name ?? '—'}</Table.Td>
                  <Table.Td>{entry.action}</Table.Td>
                  <Table.Td>{entry.purpose ?? '—'}</Table.Td>
                  <Table.Td>{entry.record_count}</Table.Td>
                  <Table.Td>{entry.outcome}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Stack>
    </form>
  );
}

function ChainCheck({ texts }: { texts: Texts }) {
  const [result, setResult] = useState<Verification | undefined>();
  const [busy, setBusy] = useState(false);
  const verify = () => {
    setBusy(true);
    api<Verification>('GET', '/api/v1/audit/verify')
      .then(setResult, () => setResult(undefined))
      .finally(() => setBusy(false));
  };
  return (
    <Stack gap="xs">
      <Group>
        <Button onClick={verify} loading={busy}>
          {texts.verifyChain}
        </Button>
      </Group>
      {result?.ok && <Text role="status">{`${texts.chainIntact} (${result.checked})`}</Text>}
      {result && !result.ok && (
        <Alert color="red" role="alert" title={texts.chainBroken}>
          {`#${result.first_broken_seq}: ${result.reason ?? ''}`}
        </Alert>
      )}
    </Stack>
  );
}

function SubjectReport({ texts }: { texts: Texts }) {
  const [subject, setSubject] = useState('');
  const [report, setReport] = useState<Report | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    api<Report>('GET', `/api/v1/audit/subjects/${encodeURIComponent(subject)}`).then(setReport, setError);
  };
  return (
    <form onSubmit={submit} aria-labelledby="subject-report">
      <Stack gap="xs">
        <Title order={2} size="h3" id="subject-report">
          {texts.subjectReport}
        </Title>
        <Text>{texts.subjectReportHelp}</Text>
        <Group align="flex-end">
          <TextInput
            label={texts.subject}
            value={subject}
            onChange={(event) => setSubject(event.currentTarget.value)}
            error={error?.forField('id') ?? error?.detail}
            required
          />
          <Button type="submit">{texts.showReport}</Button>
        </Group>
        {report && (
          <>
            <Text role="status">{`${texts.accessesFound}: ${report.accesses}`}</Text>
            <Table aria-label={texts.subjectReport}>
              <ColumnHeads labels={[texts.client, texts.accesses, texts.from, texts.to, texts.purposes]} />
              <Table.Tbody>
                {report.by_client.map((row, n) => (
                  <Table.Tr key={`${row.client_name}-${n}`}>
                    <Table.Td>{row.client_name ?? '—'}</Table.Td>
                    <Table.Td>{row.accesses}</Table.Td>
                    <Table.Td>{new Date(row.first_at).toLocaleString()}</Table.Td>
                    <Table.Td>{new Date(row.last_at).toLocaleString()}</Table.Td>
                    <Table.Td>{row.purposes.join(', ') || '—'}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Anchor
              href={`/api/v1/audit/subjects/${encodeURIComponent(report.subject_id)}?format=csv`}
              c="blue.9"
            >
              {texts.downloadCsv}
            </Anchor>
          </>
        )}
      </Stack>
    </form>
  );
}

export function Audit({ texts }: { texts: Texts }) {
  return (
    <Stack>
      <Title order={1}>{texts.auditTitle}</Title>
      <Text>{texts.auditHelp}</Text>
      <ChainCheck texts={texts} />
      <SubjectReport texts={texts} />
      <AuditSearch texts={texts} />
    </Stack>
  );
}
