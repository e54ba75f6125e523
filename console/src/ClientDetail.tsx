import { Button, Group, Paper, Stack, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type Client, type Policy } from './api.ts';
import { Credentials } from './Credentials.tsx';
import { DciSettings } from './DciSettings.tsx';
import type { Texts } from './i18n.ts';
import { PolicyForm } from './PolicyForm.tsx';
import { OutcomeAlert, ProblemAlert } from './ProblemAlert.tsx';
import { useCall } from './useCall.ts';

/**
 * One integration: its description, its data sharing agreement, its credentials and its DCI settings
 * (callbacks, signatures, a test event), each tab saved through the admin API on its own.
 */
export function ClientDetail({
  texts,
  client,
  onChanged,
  onClose,
}: {
  texts: Texts;
  client: Client;
  onChanged: () => void;
  onClose: () => void;
}) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="client-title">
      <Stack>
        <Group justify="space-between">
          <Title order={2} size="h3" id="client-title">
            {client.name}
          </Title>
          <Button variant="subtle" onClick={onClose}>
            {texts.close}
          </Button>
        </Group>
        <Text size="sm" c="dimmed">
          {texts.role}: {client.role} · {texts.created}: {new Date(client.created_at).toLocaleString()}
        </Text>
        <Tabs defaultValue="overview" keepMounted={false}>
          <Tabs.List>
            <Tabs.Tab value="overview">{texts.tabOverview}</Tabs.Tab>
            <Tabs.Tab value="agreement">{texts.stepAgreement}</Tabs.Tab>
            <Tabs.Tab value="credentials">{texts.credentials}</Tabs.Tab>
            <Tabs.Tab value="dci">{texts.tabDci}</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="overview" pt="sm">
            <DescriptionForm texts={texts} client={client} onSaved={onChanged} />
          </Tabs.Panel>
          <Tabs.Panel value="agreement" pt="sm">
            <Agreement texts={texts} client={client} />
          </Tabs.Panel>
          <Tabs.Panel value="credentials" pt="sm">
            <Credentials texts={texts} client={client} />
          </Tabs.Panel>
          <Tabs.Panel value="dci" pt="sm">
            <DciSettings texts={texts} client={client} />
          </Tabs.Panel>
        </Tabs>
      </Stack>
    </Paper>
  );
}

function DescriptionForm({ texts, client, onSaved }: { texts: Texts; client: Client; onSaved: () => void }) {
  const [description, setDescription] = useState(client.description ?? '');
  const { error, busy, done, run } = useCall();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await api('PATCH', `/api/v1/clients/${client.id}`, { description: description || null });
      onSaved();
    });
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <TextInput
          label={texts.description}
          value={description}
          onChange={(event) => setDescription(event.currentTarget.value)}
          error={error?.forField('description')}
        />
        <ProblemAlert error={error} fields={['description']} />
        {done && <OutcomeAlert ok>{texts.saved}</OutcomeAlert>}
        <Group>
          <Button type="submit" loading={busy}>
            {texts.save}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The agreement as stored (none: the role's defaults apply until one is saved). */
function Agreement({ texts, client }: { texts: Texts; client: Client }) {
  const [policy, setPolicy] = useState<Policy | null | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  useEffect(() => {
    api<Policy>('GET', `/api/v1/clients/${client.id}/policy`).then(setPolicy, (caught: ApiError) =>
      caught instanceof ApiError && caught.status === 404 ? setPolicy(null) : setError(caught),
    );
  }, [client.id]);
  if (policy === undefined) {
    return <ProblemAlert error={error} />;
  }
  return (
    <Stack gap="xs">
      {policy === null && <Text>{texts.noAgreement}</Text>}
      <PolicyForm
        texts={texts}
        clientId={client.id}
        policy={policy ?? undefined}
        submitLabel={texts.save}
        onSaved={setPolicy}
      />
    </Stack>
  );
}
