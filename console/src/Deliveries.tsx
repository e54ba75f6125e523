import { Button, Group, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { Fragment, useCallback, useEffect, useState } from 'react';
import { api, ApiError } from './api.ts';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * Outgoing DCI callbacks (async answers, notifications): their status and attempts, the dead letters,
 * and replaying one or all of them (same message id, a fresh round of retries). Each replay is one
 * call of the audited admin API. Below them, the subscriptions whose notifications these are.
 */

interface Delivery {
  id: string;
  client_id: string;
  action: string;
  message_id: string;
  callback_uri: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  updated_at: string;
}

type Filter = 'dead' | 'all';

interface Attempt {
  at: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

interface Subscription {
  code: string;
  client_name: string;
  registry: string;
  status: string;
  reg_event_type: string;
  notify_record_type: string;
  created_at: string;
  notifications: Record<'pending' | 'retrying' | 'delivered' | 'refused' | 'dead' | 'cancelled', number>;
}

export function Deliveries({ texts }: { texts: Texts }) {
  const [filter, setFilter] = useState<Filter>('dead');
  const [deliveries, setDeliveries] = useState<Delivery[] | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [opened, setOpened] = useState<{ id: string; log: Attempt[] } | undefined>();
  // Every attempt of one delivery (time, outcome, HTTP status, duration, error), shown under its row.
  const toggleAttempts = (id: string) => {
    if (opened?.id === id) {
      setOpened(undefined);
      return;
    }
    api<{ log: Attempt[] }>('GET', `/api/v1/dci/deliveries/${id}`).then(
      (delivery) => setOpened({ id, log: delivery.log }),
      setError,
    );
  };

  const load = useCallback(() => {
    const query = filter === 'dead' ? '?status=dead&limit=200' : '?limit=200';
    api<{ items: Delivery[] }>('GET', `/api/v1/dci/deliveries${query}`).then(
      (page) => setDeliveries(page.items),
      setError,
    );
  }, [filter]);
  useEffect(load, [load]);

  const replay = async (ids: string[]) => {
    setError(undefined);
    let done = 0;
    for (const id of ids) {
      try {
        await api('POST', `/api/v1/dci/deliveries/${id}/replay`, {});
        done += 1;
      } catch (caught) {
        setError(caught instanceof ApiError ? caught : undefined);
      }
    }
    setNotice(`${texts.replayed}: ${done}`);
    load();
  };
  const dead = (deliveries ?? []).filter((d) => d.status === 'dead' || d.status === 'refused');

  return (
    <Stack>
      <Title order={1}>{texts.deliveriesTitle}</Title>
      <Group justify="space-between">
        <Text>{texts.deliveriesHelp}</Text>
        <SegmentedControl
          aria-label={texts.show}
          value={filter}
          onChange={(value) => setFilter(value)}
          data={[
            { value: 'dead', label: texts.deadLetters },
            { value: 'all', label: texts.allDeliveries },
          ]}
        />
      </Group>
      <ProblemAlert error={error} />
      {notice && <Text role="status">{notice}</Text>}
      <Group>
        <Button disabled={dead.length === 0} onClick={() => void replay(dead.map((d) => d.id))}>
          {`${texts.replayAll} (${dead.length})`}
        </Button>
      </Group>
      {deliveries && deliveries.length === 0 && <Text>{texts.noDeliveries}</Text>}
      {deliveries && deliveries.length > 0 && (
        <Table striped aria-label={texts.deliveriesTitle}>
          <ColumnHeads
            labels={[
              texts.callback,
              texts.operation,
              texts.status,
              texts.attempts,
              texts.lastError,
              texts.when,
              texts.actions,
            ]}
          />
          <Table.Tbody>
            {deliveries.map((delivery) => (
              <Fragment key={delivery.id}>
                <Table.Tr>
                  <Table.Td>{delivery.callback_uri}</Table.Td>
                  <Table.Td>{delivery.action}</Table.Td>
                  <Table.Td>{delivery.status}</Table.Td>
                  <Table.Td>
                    <Button
                      size="compact-sm"
                      variant="subtle"
                      aria-expanded={opened?.id === delivery.id}
                      aria-label={`${texts.attempts} ${delivery.message_id}: ${delivery.attempts}`}
                      onClick={() => toggleAttempts(delivery.id)}
                    >
                      {delivery.attempts}
                    </Button>
                  </Table.Td>
                  <Table.Td>
                    {delivery.last_status_code
                      ? `HTTP ${delivery.last_status_code}`
                      : (delivery.last_error ?? '—')}
                  </Table.Td>
                  <Table.Td>{new Date(delivery.updated_at).toLocaleString()}</Table.Td>
                  <Table.Td>
                    {(delivery.status === 'dead' || delivery.status === 'refused') && (
                      <Button
                        size="compact-sm"
                        variant="outline"
                        aria-label={`${texts.replay} ${delivery.message_id}`}
                        onClick={() => void replay([delivery.id])}
                      >
                        {texts.replay}
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
                {opened?.id === delivery.id && (
                  <Table.Tr>
                    <Table.Td colSpan={7}>
                      <AttemptLog texts={texts} log={opened.log} />
                    </Table.Td>
                  </Table.Tr>
                )}
              </Fragment>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Subscriptions texts={texts} />
    </Stack>
  );
}

function AttemptLog({ texts, log }: { texts: Texts; log: Attempt[] }) {
  return (
    <Table aria-label={texts.attemptLog}>
      <ColumnHeads labels={[texts.when, '#', texts.outcome, 'HTTP', texts.duration, texts.lastError]} />
      <Table.Tbody>
        {log.map((attempt) => (
          <Table.Tr key={`${attempt.at}-${attempt.attempt}`}>
            <Table.Td>{new Date(attempt.at).toLocaleString()}</Table.Td>
            <Table.Td>{attempt.attempt}</Table.Td>
            <Table.Td>{attempt.outcome}</Table.Td>
            <Table.Td>{attempt.status_code ?? '—'}</Table.Td>
            <Table.Td>{`${attempt.duration_ms} ms`}</Table.Td>
            <Table.Td>{attempt.error ?? '—'}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** Who subscribed to which registry events, and how their notifications went. */
function Subscriptions({ texts }: { texts: Texts }) {
  const [subscriptions, setSubscriptions] = useState<Subscription[] | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  useEffect(() => {
    api<{ items: Subscription[] }>('GET', '/api/v1/dci/subscriptions?limit=200').then(
      (page) => setSubscriptions(page.items),
      setError,
    );
  }, []);
  return (
    <Stack gap="xs">
      <Title order={2} size="h3">
        {texts.subscriptionsTitle}
      </Title>
      <ProblemAlert error={error} />
      {subscriptions && subscriptions.length === 0 && <Text>{texts.noSubscriptions}</Text>}
      {subscriptions && subscriptions.length > 0 && (
        <Table striped aria-label={texts.subscriptionsTitle}>
          <ColumnHeads
            labels={[
              texts.client,
              texts.registry,
              texts.events,
              texts.status,
              texts.notifications,
              texts.created,
            ]}
          />
          <Table.Tbody>
            {subscriptions.map((subscription) => {
              const { delivered, pending, retrying, dead, refused } = subscription.notifications;
              return (
                <Table.Tr key={subscription.code}>
                  <Table.Td>{subscription.client_name}</Table.Td>
                  <Table.Td>{subscription.registry}</Table.Td>
                  <Table.Td>{`${subscription.reg_event_type} · ${subscription.notify_record_type}`}</Table.Td>
                  <Table.Td>{subscription.status}</Table.Td>
                  <Table.Td>
                    {`${texts.delivered} ${delivered} · ${texts.waiting} ${pending + retrying} · ${texts.deadLetters} ${dead + refused}`}
                  </Table.Td>
                  <Table.Td>{new Date(subscription.created_at).toLocaleString()}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
