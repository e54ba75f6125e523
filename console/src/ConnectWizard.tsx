import {
  Button,
  Code,
  CopyButton,
  Group,
  NumberInput,
  Select,
  Stack,
  Stepper,
  TagsInput,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { api, ApiError, type Client } from './api.ts';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * "Connect a new system": the client (name, role), its data sharing agreement (purposes, areas,
 * rate limit, daily quota, expiry), an API key shown once, and a curl example that works with it.
 * Each step calls the admin API; its errors show next to the field they concern.
 */

const ROLES = ['integrator', 'system', 'analyst', 'field_agent', 'admin'];

interface Agreement {
  agreement_ref: string;
  purposes: string[];
  area_codes: string[];
  rate_limit: number | '';
  daily_quota: number | '';
  valid_until: string;
}

export function exampleOf(origin: string, key: string, purpose: string | undefined): string {
  return [
    `curl -sS -H "Authorization: Bearer ${key}"`,
    ...(purpose ? [`-H "X-Purpose: ${purpose}"`] : []),
    `${origin}/api/v1/programs`,
  ].join(' ');
}

/** Runs a step's call; an ApiError is kept to be shown by the fields. */
function useStep() {
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async (call: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await call();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, String(caught), undefined, []));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
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
  const [key, setKey] = useState<string | undefined>();

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
            <AgreementStep
              texts={texts}
              client={client}
              onSaved={(saved) => {
                setPurposes(saved);
                setActive(2);
              }}
            />
          )}
        </Stepper.Step>
        <Stepper.Step label={texts.stepKey}>
          {client && (
            <KeyStep
              texts={texts}
              client={client}
              onCreated={(created) => {
                setKey(created);
                setActive(3);
              }}
            />
          )}
        </Stepper.Step>
        <Stepper.Completed>
          {key && (
            <Stack>
              <Text fw={700}>{texts.keyOnce}</Text>
              <Code block data-testid="api-key">
                {key}
              </Code>
              <Text>{texts.tryIt}</Text>
              <Code block data-testid="example" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
                {exampleOf(window.location.origin, key, purposes[0])}
              </Code>
              <Group>
                <CopyButton value={exampleOf(window.location.origin, key, purposes[0])}>
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
  const { error, busy, run } = useStep();
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

function AgreementStep({
  texts,
  client,
  onSaved,
}: {
  texts: Texts;
  client: Client;
  onSaved: (purposes: string[]) => void;
}) {
  const [agreement, setAgreement] = useState<Agreement>({
    agreement_ref: '',
    purposes: [],
    area_codes: [],
    rate_limit: '',
    daily_quota: '',
    valid_until: '',
  });
  const { error, busy, run } = useStep();
  const set = (change: Partial<Agreement>) => setAgreement((current) => ({ ...current, ...change }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const { agreement_ref, purposes, area_codes, rate_limit, daily_quota, valid_until } = agreement;
      await api('PUT', `/api/v1/clients/${client.id}/policy`, {
        agreement_ref,
        ...(purposes.length ? { purposes } : {}),
        ...(area_codes.length ? { area_codes } : {}),
        ...(rate_limit === '' ? {} : { rate_limit }),
        ...(daily_quota === '' ? {} : { daily_quota }),
        ...(valid_until ? { valid_until: `${valid_until}T23:59:59Z` } : {}),
      });
      onSaved(purposes);
    });
  };
  const fields = ['agreement_ref', 'purposes', 'area_codes', 'rate_limit', 'daily_quota', 'valid_until'];
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <TextInput
          label={texts.agreementRef}
          description={texts.agreementRefHelp}
          value={agreement.agreement_ref}
          onChange={(event) => set({ agreement_ref: event.currentTarget.value })}
          error={error?.forField('agreement_ref')}
          required
        />
        <TagsInput
          label={texts.purposes}
          description={texts.purposesHelp}
          value={agreement.purposes}
          onChange={(purposes) => set({ purposes })}
          error={error?.forField('purposes')}
        />
        <TagsInput
          label={texts.areas}
          description={texts.areasHelp}
          value={agreement.area_codes}
          onChange={(area_codes) => set({ area_codes })}
          error={error?.forField('area_codes')}
        />
        <Group grow>
          <NumberInput
            label={texts.rateLimit}
            value={agreement.rate_limit}
            onChange={(value) => set({ rate_limit: value === '' ? '' : Number(value) })}
            error={error?.forField('rate_limit')}
          />
          <NumberInput
            label={texts.dailyQuota}
            value={agreement.daily_quota}
            onChange={(value) => set({ daily_quota: value === '' ? '' : Number(value) })}
            error={error?.forField('daily_quota')}
          />
          <TextInput
            label={texts.validUntil}
            placeholder="YYYY-MM-DD"
            value={agreement.valid_until}
            onChange={(event) => set({ valid_until: event.currentTarget.value })}
            error={error?.forField('valid_until')}
          />
        </Group>
        <ProblemAlert error={error} fields={fields} />
        <Group>
          <Button type="submit" loading={busy}>
            {texts.next}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function KeyStep({
  texts,
  client,
  onCreated,
}: {
  texts: Texts;
  client: Client;
  onCreated: (key: string) => void;
}) {
  const { error, busy, run } = useStep();
  return (
    <Stack gap="xs">
      <Text>{texts.keyHelp}</Text>
      <ProblemAlert error={error} fields={[]} />
      <Group>
        <Button
          loading={busy}
          onClick={() =>
            void run(async () =>
              onCreated((await api<{ key: string }>('POST', `/api/v1/clients/${client.id}/keys`, {})).key),
            )
          }
        >
          {texts.createKey}
        </Button>
      </Group>
    </Stack>
  );
}
