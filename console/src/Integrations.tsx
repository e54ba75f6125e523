import { Badge, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { api, type ApiError, type Client } from './api.ts';
import { ClientDetail } from './ClientDetail.tsx';
import { ConnectWizard } from './ConnectWizard.tsx';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * The integrations (API clients): who they are, their role, whether they are active; suspend or
 * enable one, open one (ClientDetail), or connect a new one (ConnectWizard).
 */
export function Integrations({ texts, selfId }: { texts: Texts; selfId: string }) {
  const [clients, setClients] = useState<Client[] | undefined>();
  const [loadError, setLoadError] = useState<ApiError | undefined>();
  const [connecting, setConnecting] = useState(false);
  const [openId, setOpenId] = useState<string | undefined>();
  const opened = clients?.find((client) => client.id === openId);

  // Suspending a client stops every credential it has at once; enabling it restores them.
  const setDisabled = async (client: Client, disabled: boolean) => {
    try {
      await api('PATCH', `/api/v1/clients/${client.id}`, { disabled });
    } catch (caught) {
      setLoadError(caught as ApiError);
    }
    load();
  };

  const load = useCallback(() => {
    api<{ items: Client[] }>('GET', '/api/v1/clients').then(
      (page) => setClients(page.items),
      (error: ApiError) => setLoadError(error),
    );
  }, []);
  useEffect(load, [load]);

  return (
    <Stack>
      <Title order={1}>{texts.integrationsTitle}</Title>
      <Text>{texts.integrationsHelp}</Text>
      {connecting ? (
        <ConnectWizard
          texts={texts}
          onChanged={load}
          onDone={() => {
            setConnecting(false);
            load();
          }}
        />
      ) : (
        <Group>
          <Button onClick={() => setConnecting(true)}>{texts.newIntegration}</Button>
        </Group>
      )}
      {opened && (
        <ClientDetail
          key={opened.id}
          texts={texts}
          client={opened}
          onChanged={load}
          onClose={() => setOpenId(undefined)}
        />
      )}
      <ProblemAlert error={loadError} />
      {!clients && !loadError && <Text>{texts.loading}</Text>}
      {clients && clients.length === 0 && <Text>{texts.noIntegrations}</Text>}
      {clients && clients.length > 0 && (
        <Table striped highlightOnHover aria-label={texts.integrationsTitle}>
          <ColumnHeads labels={[texts.name, texts.role, texts.status, texts.created, texts.actions]} />
          <Table.Tbody>
            {clients.map((client) => (
              <Table.Tr key={client.id}>
                <Table.Td>{client.name}</Table.Td>
                <Table.Td>{client.role}</Table.Td>
                <Table.Td>
                  <Badge color={client.disabled_at ? 'gray' : 'green'} variant="dot">
                    {client.disabled_at ? texts.disabled : texts.active}
                  </Badge>
                </Table.Td>
                <Table.Td>{new Date(client.created_at).toLocaleString()}</Table.Td>
                <Table.Td>
                  <Group gap="xs">
                    <Button
                      size="compact-sm"
                      aria-label={`${texts.open} ${client.name}`}
                      onClick={() => setOpenId(client.id)}
                    >
                      {texts.open}
                    </Button>
                    {client.id !== selfId && (
                      <Button
                        size="compact-sm"
                        variant="outline"
                        aria-label={`${client.disabled_at ? texts.enable : texts.suspend} ${client.name}`}
                        onClick={() => void setDisabled(client, !client.disabled_at)}
                      >
                        {client.disabled_at ? texts.enable : texts.suspend}
                      </Button>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
