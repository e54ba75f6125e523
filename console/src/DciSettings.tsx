import { Button, Group, Select, Stack, Switch, TagsInput, TextInput, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { api, type ApiError, type Client } from './api.ts';
import type { Texts } from './i18n.ts';
import { OutcomeAlert, ProblemAlert } from './ProblemAlert.tsx';
import { useCall } from './useCall.ts';

/**
 * A client's DCI settings: where its callbacks may go (origins, base URI, private addresses), which of
 * its messages must be signed and where its signing keys are published (JWKS URL), and "send a test
 * event" to its endpoint, which tells at once whether it is reachable and accepts our messages.
 */

interface CallbackSettings {
  callback_origins: string[];
  callback_uri: string | null;
  allow_private_addresses: boolean;
}
interface SignatureSettings {
  signature_policy: string;
  jwks_uri: string | null;
}
interface TestEvent {
  url: string;
  outcome: 'delivered' | 'failed' | 'refused';
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

// The API's enum: all messages, async and subscription ones only (its default), or none.
const SIGNATURE_POLICIES = ['all', 'async', 'none'];

export function DciSettings({ texts, client }: { texts: Texts; client: Client }) {
  const base = `/api/v1/clients/${client.id}/dci`;
  const [callbacks, setCallbacks] = useState<CallbackSettings | undefined>();
  const [signature, setSignature] = useState<SignatureSettings | undefined>();
  const [loadError, setLoadError] = useState<ApiError | undefined>();
  useEffect(() => {
    Promise.all([
      api<CallbackSettings>('GET', base),
      api<SignatureSettings>('GET', `${base}/signature`),
    ]).then(([callbackSettings, signatureSettings]) => {
      setCallbacks(callbackSettings);
      setSignature(signatureSettings);
    }, setLoadError);
  }, [base]);
  return (
    <Stack>
      <ProblemAlert error={loadError} />
      {callbacks && <CallbackForm texts={texts} base={base} initial={callbacks} />}
      {signature && <SignatureForm texts={texts} base={base} initial={signature} />}
      <TestEventButton texts={texts} base={base} />
    </Stack>
  );
}

function CallbackForm({ texts, base, initial }: { texts: Texts; base: string; initial: CallbackSettings }) {
  const [origins, setOrigins] = useState(initial.callback_origins);
  const [uri, setUri] = useState(initial.callback_uri ?? '');
  const [allowPrivate, setAllowPrivate] = useState(initial.allow_private_addresses);
  const { error, busy, done, run } = useCall();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(() =>
      api('PUT', base, {
        callback_origins: origins,
        callback_uri: uri || null,
        allow_private_addresses: allowPrivate,
      }),
    );
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <Title order={3} size="h5">
          {texts.callbacksTitle}
        </Title>
        <TagsInput
          label={texts.callbackOrigins}
          description={texts.callbackOriginsHelp}
          value={origins}
          onChange={setOrigins}
          error={error?.forField('callback_origins')}
        />
        <TextInput
          label={texts.callbackUri}
          description={texts.callbackUriHelp}
          value={uri}
          onChange={(event) => setUri(event.currentTarget.value)}
          error={error?.forField('callback_uri')}
        />
        <Switch
          label={texts.allowPrivate}
          checked={allowPrivate}
          onChange={(event) => setAllowPrivate(event.currentTarget.checked)}
        />
        <ProblemAlert error={error} fields={['callback_origins', 'callback_uri']} />
        {done && <OutcomeAlert ok>{texts.saved}</OutcomeAlert>}
        <Group>
          <Button type="submit" loading={busy}>
            {texts.saveCallbacks}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function SignatureForm({ texts, base, initial }: { texts: Texts; base: string; initial: SignatureSettings }) {
  const [policy, setPolicy] = useState(initial.signature_policy);
  const [jwksUri, setJwksUri] = useState(initial.jwks_uri ?? '');
  const { error, busy, done, run } = useCall();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(() => api('PUT', `${base}/signature`, { signature_policy: policy, jwks_uri: jwksUri || null }));
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <Title order={3} size="h5">
          {texts.signaturesTitle}
        </Title>
        <Group grow align="flex-start">
          <Select
            label={texts.signaturePolicy}
            description={texts.signaturePolicyHelp}
            data={SIGNATURE_POLICIES}
            value={policy}
            onChange={(value) => value && setPolicy(value)}
            allowDeselect={false}
            error={error?.forField('signature_policy')}
          />
          <TextInput
            label={texts.signingJwksUrl}
            description={texts.signingJwksUrlHelp}
            value={jwksUri}
            onChange={(event) => setJwksUri(event.currentTarget.value)}
            error={error?.forField('jwks_uri')}
          />
        </Group>
        <ProblemAlert error={error} fields={['signature_policy', 'jwks_uri']} />
        {done && <OutcomeAlert ok>{texts.saved}</OutcomeAlert>}
        <Group>
          <Button type="submit" loading={busy}>
            {texts.saveSignatures}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Sends the test event and tells what happened: delivered, failed (with the reason) or refused. */
function TestEventButton({ texts, base }: { texts: Texts; base: string }) {
  const [result, setResult] = useState<TestEvent | undefined>();
  const { error, busy, run } = useCall();
  const send = () =>
    run(async () => {
      setResult(undefined);
      setResult(await api<TestEvent>('POST', `${base}/test-event`));
    });
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        {texts.testEventTitle}
      </Title>
      <Group>
        <Button variant="outline" loading={busy} onClick={() => void send()}>
          {texts.sendTestEvent}
        </Button>
      </Group>
      <ProblemAlert error={error} />
      {result && (
        <OutcomeAlert
          ok={result.outcome === 'delivered'}
          title={`${texts[`outcome_${result.outcome}`]}${result.status_code ? ` (HTTP ${result.status_code})` : ''}`}
        >
          {result.url} · {result.duration_ms} ms{result.error ? ` · ${result.error}` : ''}
        </OutcomeAlert>
      )}
    </Stack>
  );
}
