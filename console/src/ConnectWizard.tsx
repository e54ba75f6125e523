import {
  Button,
  Code,
  CopyButton,
  Group,
  SegmentedControl,
  Select,
  Stack,
  Stepper,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useState, type FormEvent } from 'react';
// The gateway's own list of roles (the API refuses any other).
import { ROLES } from '../../src/platform/auth/roles.ts';
import { api, type Client } from './api.ts';
import type { Texts } from './i18n.ts';
import { PolicyForm } from './PolicyForm.tsx';
import { ProblemAlert } from './ProblemAlert.tsx';
import { useCall } from './useCall.ts';

/**
 * "Connect a new system": the client (name, role), its data sharing agreement (PolicyForm), a
 * credential shown once (an API key, or an OAuth client secret for the client credentials grant),
 * and a curl example that works with it. Each step calls the admin API; its errors show next to the
 * field they concern. Certificates and public keys are added from the client's page afterwards.
 */

/** What the last step created: an API key, or an OAuth client id and secret. */
export type Credential =
  { kind: 'api_key'; key: string } | { kind: 'oauth'; clientId: string; secret: string };

/** A shell example that lists the programs with the new credential (the purpose header when one is required). */
export function exampleOf(origin: string, credential: Credential, purpose: string | undefined): string {
  const call = (authorization: string) =>
    [
      `curl -sS -H "Authorization: Bearer ${authorization}"`,
      ...(purpose ? [`-H "X-Purpose: ${purpose}"`] : []),
      `${origin}/api/v1/programs`,
    ].join(' ');
  if (credential.kind === 'api_key') {
    return call(credential.key);
  }
  return [
    `TOKEN=$(curl -sS -u "${credential.clientId}:${credential.secret}" -d grant_type=client_credentials ${origin}/oauth/token` +
      ` | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
    call('$TOKEN'),
  ].join('\n');
}

/** `onChanged` after each step that changed something (the list shows the new client at once). */
export function ConnectWizard({
  texts,
  onChanged,
  onDone,
}: {
  texts: Texts;
  onChanged: () => void;
  onDone: () => void;
}) {
  const [active, setActive] = useState(0);
  const [client, setClient] = useState<Client | undefined>();
  const [purposes, setPurposes] = useState<string[]>([]);
  const [credential, setCredential] = useState<Credential | undefined>();
  const example = credential && exampleOf(window.location.origin, credential, purposes[0]);

  return (
    <Stack>
      <Title order={2} size="h3">
        {texts.newIntegration}
      </Title>
      <Stepper active={active} allowNextStepsSelect={false}>
        <Stepper.Step label={texts.stepSystem}>
          <SystemStep
            texts={texts}
            onCreated={(created) => {
              setClient(created);
              setActive(1);
              onChanged();
            }}
          />
        </Stepper.Step>
        <Stepper.Step label={texts.stepAgreement}>
          {client && (
            <PolicyForm
              texts={texts}
              clientId={client.id}
              submitLabel={texts.next}
              onSaved={(saved) => {
                setPurposes(saved.purposes ?? []);
                setActive(2);
              }}
            />
          )}
        </Stepper.Step>
        <Stepper.Step label={texts.stepKey}>
          {client && (
            <CredentialStep
              texts={texts}
              client={client}
              onCreated={(created) => {
                setCredential(created);
                setActive(3);
              }}
            />
          )}
        </Stepper.Step>
        <Stepper.Completed>
          {credential && example && (
            <Stack>
              <Text fw={700}>{texts.keyOnce}</Text>
              <Code block data-testid="api-key">
                {credential.kind === 'api_key'
                  ? credential.key
                  : `client_id: ${credential.clientId}\nclient_secret: ${credential.secret}`}
              </Code>
              <Text>{texts.tryIt}</Text>
              <Code block data-testid="example" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
                {example}
              </Code>
              <Group>
                <CopyButton value={example}>
                  {({ copied, copy }) => <Button onClick={copy}>{copied ? texts.copied : texts.copy}</Button>}
                </CopyButton>
                <Button variant="outline" onClick={onDone}>
                  {texts.done}
                </Button>
              </Group>
            </Stack>
          )}
        </Stepper.Completed>
      </Stepper>
    </Stack>
  );
}

function SystemStep({ texts, onCreated }: { texts: Texts; onCreated: (client: Client) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('integrator');
  const [description, setDescription] = useState('');
  const { error, busy, run } = useCall();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () =>
      onCreated(
        await api<Client>('POST', '/api/v1/clients', { name, role, ...(description ? { description } : {}) }),
      ),
    );
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <TextInput
          label={texts.name}
          description={texts.nameHelp}
          value={name}
          onChange={(event) => setName(event.currentTarget.value)}
          error={error?.forField('name')}
          required
        />
        <Select
          label={texts.role}
          data={[...ROLES]}
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
        <ProblemAlert error={error} fields={['name', 'role', 'description']} />
        <Group>
          <Button type="submit" loading={busy}>
            {texts.next}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function CredentialStep({
  texts,
  client,
  onCreated,
}: {
  texts: Texts;
  client: Client;
  onCreated: (credential: Credential) => void;
}) {
  const [kind, setKind] = useState<Credential['kind']>('api_key');
  const { error, busy, run } = useCall();
  const create = () =>
    run(async () => {
      if (kind === 'api_key') {
        const { key } = await api<{ key: string }>('POST', `/api/v1/clients/${client.id}/keys`, {});
        onCreated({ kind, key });
      } else {
        const { client_secret } = await api<{ client_secret: string }>(
          'POST',
          `/api/v1/clients/${client.id}/oauth/secrets`,
          {},
        );
        onCreated({ kind, clientId: client.id, secret: client_secret });
      }
    });
  return (
    <Stack gap="xs">
      <SegmentedControl
        aria-label={texts.credentialKind}
        value={kind}
        onChange={(value) => setKind(value)}
        data={[
          { value: 'api_key', label: texts.apiKey },
          { value: 'oauth', label: texts.oauthClient },
        ]}
      />
      <Text>{kind === 'api_key' ? texts.keyHelp : texts.oauthHelp}</Text>
      <ProblemAlert error={error} />
      <Group>
        <Button loading={busy} onClick={() => void create()}>
          {kind === 'api_key' ? texts.createKey : texts.createSecret}
        </Button>
      </Group>
    </Stack>
  );
}
