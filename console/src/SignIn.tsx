import { Alert, Button, Divider, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type Session } from './api.ts';
import type { Texts } from './i18n.ts';

/** What the gateway says of sign-in through an identity provider (GET /api/v1/console/oidc). */
interface OidcStatus {
  enabled: boolean;
  provider?: string;
}

/** The gateway's short codes for a refused sign-in through the provider (never the provider's text). */
const SIGN_IN_ERRORS = {
  unavailable: 'signInErrorUnavailable',
  state: 'signInErrorState',
  expired: 'signInErrorExpired',
  cancelled: 'signInErrorCancelled',
  provider: 'signInErrorProvider',
  token: 'signInErrorToken',
  not_linked: 'signInErrorNotLinked',
  refused: 'signInErrorRefused',
} as const satisfies Record<string, keyof Texts>;

/** The message for `?sign_in_error=` of the gateway's redirect, read once and taken out of the URL. */
function takeSignInError(texts: Texts): string | undefined {
  const code = new URLSearchParams(window.location.search).get('sign_in_error');
  if (code === null) {
    return undefined;
  }
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.hash}`);
  return Object.hasOwn(SIGN_IN_ERRORS, code)
    ? texts[SIGN_IN_ERRORS[code as keyof typeof SIGN_IN_ERRORS]]
    : texts.signInErrorOther;
}

/**
 * Sign-in through the identity provider, when the gateway offers it (a plain link: the browser goes
 * to the provider and comes back signed in), or with an API key: the gateway answers with a session
 * cookie (the key is not kept here).
 */
export function SignIn({ texts, onSignedIn }: { texts: Texts; onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState<OidcStatus>({ enabled: false });
  const [providerError] = useState(() => takeSignInError(texts));

  useEffect(() => {
    api<OidcStatus>('GET', '/api/v1/console/oidc').then(setOidc, () => setOidc({ enabled: false }));
  }, []);

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
          {providerError && (
            <Alert color="red" role="alert">
              {providerError}
            </Alert>
          )}
          {oidc.enabled && oidc.provider && (
            <>
              <Button component="a" href="/api/v1/console/oidc/start">
                {`${texts.signInWith} ${oidc.provider}`}
              </Button>
              <Divider label={texts.signInOrKey} labelPosition="center" />
            </>
          )}
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
