import { Alert, Badge, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, type ApiError, type Client } from './api.ts';
import type { Texts } from './i18n.ts';

const ROLES = ['integrator', 'system', 'analyst', 'field_agent', 'admin'];

/** The integrations (API clients): who they are, their role, whether they are active; add one. */
export function Integrations({ texts }: { texts: Texts }) {
  const [clients, setClients] = useState<Client[] | undefined>();
  const [loadError, setLoadError] = useState<ApiError | undefined>();

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
      <NewIntegration texts={texts} onCreated={load} />
      {loadError && (
        <Alert color="red" title={loadError.title}>
          {loadError.detail}
        </Alert>
      )}
      {!clients && !loadError && <Text>{texts.loading}</Text>}
      {clients && clients.length === 0 && <Text>{texts.noIntegrations}</Text>}
      {clients && clients.length > 0 && (
        <Table striped highlightOnHover aria-label={texts.integrationsTitle}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{texts.name}</Table.Th>
              <Table.Th scope="col">{texts.role}</Table.Th>
              <Table.Th scope="col">{texts.status}</Table.Th>
              <Table.Th scope="col">{texts.created}</Table.Th>
            </Table.Tr>
          </Table.Thead>
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
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function NewIntegration({ texts, onCreated }: { texts: Texts; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('integrator');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<ApiError | undefined>();
  const [created, setCreated] = useState<string | undefined>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setCreated(undefined);
    try {
      const client = await api<Client>('POST', '/api/v1/clients', {
        name,
        role,
        ...(description ? { description } : {}),
      });
      setCreated(client.name);
      setName('');
      setDescription('');
      onCreated();
    } catch (caught) {
      setError(caught as ApiError);
    }
  };
  const general = error && error.errors.length === 0 ? (error.detail ?? error.title) : undefined;

  return (
    <form onSubmit={(event) => void submit(event)} aria-labelledby="new-integration">
      <Stack gap="xs">
        <Title order={2} size="h3" id="new-integration">
          {texts.newIntegration}
        </Title>
        <Group align="flex-start">
          <TextInput
            label={texts.name}
            value={name}
            onChange={(event) => setName(event.currentTarget.value)}
            error={error?.forField('name')}
            required
          />
          <Select
            label={texts.role}
            data={ROLES}
            value={role}
            onChange={(value) => value && setRole(value)}
            allowDeselect={false}
            error={error?.forField('role')}
          />
          <TextInput
            label={texts.description}
            value={description}
            onChange={(event) => setDescription(event.currentTarget.value)}
            error={error?.forField('description')}
          />
        </Group>
        <Group>
          <Button type="submit">{texts.create}</Button>
          {created && <Text role="status">{`${texts.created_ok}: ${created}`}</Text>}
        </Group>
        {general && (
          <Alert color="red" role="alert" title={error?.title}>
            {general}
          </Alert>
        )}
      </Stack>
    </form>
  );
}
