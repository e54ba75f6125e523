import { Alert, Button, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { api, ApiError, type Session } from './api.ts';
import type { Texts } from './i18n.ts';

/** Sign-in with an API key: the gateway answers with a session cookie (the key is not kept here). */
export function SignIn({ texts, onSignedIn }: { texts: Texts; onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api<Session>('POST', '/api/v1/console/session', { api_key: key }));
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, texts.failed, String(caught), []));
    } finally {
      setBusy(false);
      setKey('');
    }
  };

  return (
    <Paper component="main" maw={420} mx="auto" mt="xl" p="lg" withBorder>
      <form onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-title">
        <Stack>
          <Title order={1} id="sign-in-title" size="h2">
            {texts.signInTitle}
          </Title>
          <Text size="sm">{texts.signInHelp}</Text>
          <PasswordInput
            label={texts.apiKey}
            value={key}
            onChange={(event) => setKey(event.currentTarget.value)}
            required
            autoComplete="off"
            error={error?.forField('api_key') ?? (error ? (error.detail ?? error.title) : undefined)}
          />
          <Button type="submit" loading={busy}>
            {texts.signIn}
          </Button>
          {error && error.status === 0 && <Alert color="red">{error.message}</Alert>}
        </Stack>
      </form>
    </Paper>
  );
}
