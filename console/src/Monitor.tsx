import 'uplot/dist/uPlot.min.css';
import { Alert, Badge, Button, Group, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import { api, type ApiError } from './api.ts';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * The data flow monitor: requests per client and operation over the last hour or day (errors, p95,
 * records), a chart of requests and errors over time, anomaly alerts, the requests as they happen
 * (server-sent events), and, for a client, its latest audited accesses.
 */

interface Total {
  client_id: string;
  client_name: string;
  action: string;
  requests: number;
  errors: number;
  error_rate: number;
  rate_limited: number;
  records: number;
  p95_ms: number | null;
}
interface Traffic {
  from: string;
  totals: Total[];
  series: { at: string; requests: number; errors: number }[];
  alerts: { id: string; rule: string; severity: string; action: string; created_at: string }[];
}
interface LiveRequest {
  at: string;
  client_name: string;
  action: string;
  status: number;
  duration_ms: number;
  records: number;
}
interface AuditEntry {
  seq: number;
  at: string;
  action: string;
  purpose: string | null;
  record_count: number;
  outcome: string;
}

const LIVE_ROWS = 20;

function Chart({ traffic, texts }: { traffic: Traffic; texts: Texts }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) {
      return;
    }
    // The whole period on the axis, even when only some of it has traffic: empty points at both ends.
    const start = Date.parse(traffic.from) / 1000;
    const points = traffic.series.map((point) => ({ ...point, x: Date.parse(point.at) / 1000 }));
    const data: uPlot.AlignedData = [
      [start, ...points.map((point) => point.x), Date.now() / 1000],
      [null, ...points.map((point) => point.requests), null],
      [null, ...points.map((point) => point.errors), null],
    ];
    const plot = new uPlot(
      {
        width: Math.min(900, ref.current.clientWidth || 900),
        height: 220,
        series: [
          {},
          { label: texts.requests, stroke: '#1864ab', width: 2 },
          { label: texts.errors, stroke: '#c92a2a', width: 2 },
        ],
      },
      data,
      ref.current,
    );
    return () => plot.destroy();
  }, [traffic, texts]);
  return <div ref={ref} role="img" aria-label={texts.chartLabel} />;
}

export function Monitor({ texts }: { texts: Texts }) {
  const [span, setSpan] = useState<'hour' | 'day'>('hour');
  const [traffic, setTraffic] = useState<Traffic | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [live, setLive] = useState<LiveRequest[]>([]);
  const [drill, setDrill] = useState<{ client: Total; entries: AuditEntry[] } | undefined>();

  const load = useCallback(() => {
    api<Traffic>('GET', `/api/v1/monitor/traffic?window=${span}`).then(setTraffic, setError);
  }, [span]);
  useEffect(() => {
    load();
    const timer = setInterval(load, 15_000);
    return () => clearInterval(timer);
  }, [load]);
  useEffect(() => {
    const source = new EventSource('/api/v1/monitor/events');
    source.addEventListener('request', (event) => {
      const request = JSON.parse((event as MessageEvent<string>).data) as LiveRequest;
      setLive((rows) => [request, ...rows].slice(0, LIVE_ROWS));
    });
    return () => source.close();
  }, []);

  const showAccesses = (client: Total) => {
    api<{ items: AuditEntry[] }>('GET', `/api/v1/audit?client_id=${client.client_id}&limit=20`).then(
      (page) => setDrill({ client, entries: page.items }),
      setError,
    );
  };

  return (
    <Stack>
      <Title order={1}>{texts.monitorTitle}</Title>
      <Group justify="space-between">
        <Text>{texts.monitorHelp}</Text>
        <SegmentedControl
          aria-label={texts.window}
          value={span}
          onChange={(value) => setSpan(value)}
          data={[
            { value: 'hour', label: texts.lastHour },
            { value: 'day', label: texts.lastDay },
          ]}
        />
      </Group>
      <ProblemAlert error={error} />
      {traffic && <Chart traffic={traffic} texts={texts} />}
      {traffic && traffic.alerts.length > 0 && (
        <Alert color="orange" title={texts.alerts}>
          {traffic.alerts.map((alert) => `${alert.severity}: ${alert.rule} (${alert.action})`).join('; ')}
        </Alert>
      )}
      <Title order={2} size="h3">
        {texts.byClient}
      </Title>
      <Table striped aria-label={texts.byClient}>
        <ColumnHeads
          labels={[
            texts.client,
            texts.operation,
            texts.requests,
            texts.errorRate,
            texts.p95,
            texts.records,
            texts.rateLimited,
          ]}
        />
        <Table.Tbody>
          {(traffic?.totals ?? []).map((row) => (
            <Table.Tr key={`${row.client_id}|${row.action}`}>
              <Table.Td>
                <Button
                  variant="transparent"
                  c="blue.9"
                  td="underline"
                  size="compact-sm"
                  onClick={() => showAccesses(row)}
                >
                  {row.client_name}
                </Button>
              </Table.Td>
              <Table.Td>{row.action}</Table.Td>
              <Table.Td>{row.requests}</Table.Td>
              <Table.Td>
                <Badge color={row.error_rate > 0.05 ? 'red' : 'green'} variant="dot">
                  {`${(row.error_rate * 100).toFixed(1)} %`}
                </Badge>
              </Table.Td>
              <Table.Td>{row.p95_ms === null ? '> 5000 ms' : `≤ ${row.p95_ms} ms`}</Table.Td>
              <Table.Td>{row.records}</Table.Td>
              <Table.Td>{row.rate_limited}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {drill && (
        <Stack gap="xs">
          <Title order={2} size="h3">{`${texts.recentAccesses}: ${drill.client.client_name}`}</Title>
          <Table aria-label={texts.recentAccesses}>
            <ColumnHeads
              labels={[texts.when, texts.operation, texts.purpose, texts.records, texts.outcome]}
            />
            <Table.Tbody>
              {drill.entries.map((entry) => (
                <Table.Tr key={entry.seq}>
                  <Table.Td>{new Date(entry.at).toLocaleString()}</Table.Td>
                  <Table.Td>{entry.action}</Table.Td>
                  <Table.Td>{entry.purpose ?? '—'}</Table.Td>
                  <Table.Td>{entry.record_count}</Table.Td>
                  <Table.Td>{entry.outcome}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      )}
      <Title order={2} size="h3">
        {texts.live}
      </Title>
      <Table aria-label={texts.live} aria-live="polite" data-testid="live">
        <ColumnHeads
          labels={[texts.when, texts.client, texts.operation, texts.status, texts.duration, texts.records]}
        />
        <Table.Tbody>
          {live.map((row, n) => (
            <Table.Tr key={`${row.at}-${n}`}>
              <Table.Td>{new Date(row.at).toLocaleTimeString()}</Table.Td>
              <Table.Td>{row.client_name}</Table.Td>
              <Table.Td>{row.action}</Table.Td>
              <Table.Td>{row.status}</Table.Td>
              <Table.Td>{`${row.duration_ms} ms`}</Table.Td>
              <Table.Td>{row.records}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
