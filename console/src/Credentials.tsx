import {
  Badge,
  Button,
  Checkbox,
  Code,
  FileInput,
  Group,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, type ApiError, type Client } from './api.ts';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';
import { useCall } from './useCall.ts';

/**
 * A client's credentials, each kind through its admin API: API keys, OAuth credentials (client
 * secrets, public keys or a JWKS URL for private_key_jwt) and client certificates for mutual TLS.
 * Secrets are shown once, when created; anything can be revoked at once.
 */

interface Row {
  id: string;
  what: string;
  expires_at: string | null;
  revoked_at: string | null;
  revokePath: string;
}

interface ApiKey {
  id: string;
  prefix: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}
interface OAuthCredential {
  id: string;
  kind: string;
  key_id: string | null;
  jwks_uri: string | null;
  external_id: string | null;
  description: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}
interface Certificate {
  id: string;
  thumbprint: string | null;
  subject: string | null;
  not_after: string | null;
  revoked_at: string | null;
}

const day = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString() : '—');

/** Every credential of the client as one list of rows (what it is, validity, how to revoke it). */
async function loadRows(clientId: string, texts: Texts): Promise<Row[]> {
  // What each kind of OAuth credential is, in the list (the API's kinds).
  const oauthKinds: Record<string, string> = {
    client_secret: texts.kindClientSecret,
    private_key_jwt: texts.kindSigningKey,
    identity_provider: texts.kindIdentity,
  };
  const base = `/api/v1/clients/${clientId}`;
  const [keys, oauth, certificates] = await Promise.all([
    api<{ items: ApiKey[] }>('GET', `${base}/keys`),
    api<{ items: OAuthCredential[] }>('GET', `${base}/oauth/credentials`),
    api<{ items: Certificate[] }>('GET', `${base}/certificates`),
  ]);
  return [
    ...keys.items.map((k) => ({
      ...k,
      what: `${texts.apiKey} ${k.prefix}…`,
      revokePath: `/api/v1/keys/${k.id}`,
    })),
    ...oauth.items.map((c) => ({
      ...c,
      what: [oauthKinds[c.kind] ?? c.kind, c.jwks_uri ?? c.key_id ?? c.external_id ?? c.description]
        .filter(Boolean)
        .join(': '),
      revokePath: `${base}/oauth/credentials/${c.id}`,
    })),
    ...certificates.items.map((c) => ({
      ...c,
      expires_at: c.not_after,
      what: `${texts.kindCertificate} ${c.subject ?? c.thumbprint ?? ''}`,
      revokePath: `${base}/certificates/${c.id}`,
    })),
  ];
}

export function Credentials({ texts, client }: { texts: Texts; client: Client }) {
  const [rows, setRows] = useState<Row[] | undefined>();
  const [loadError, setLoadError] = useState<ApiError | undefined>();
  const [secret, setSecret] = useState<string | undefined>();
  const revoking = useCall();
  const reload = useCallback(() => {
    loadRows(client.id, texts).then(setRows, setLoadError);
  }, [client.id, texts]);
  useEffect(reload, [reload]);

  /** A secret the API shows once: shown here until the next one. */
  const created = (shown: string | undefined) => {
    setSecret(shown);
    reload();
  };

  return (
    <Stack>
      <ProblemAlert error={loadError ?? revoking.error} />
      {rows && (
        <Table aria-label={texts.credentials}>
          <ColumnHeads labels={[texts.credential, texts.expires, texts.status, texts.actions]} />
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.id}>
                <Table.Td style={{ wordBreak: 'break-all' }}>{row.what}</Table.Td>
                <Table.Td>{day(row.expires_at)}</Table.Td>
                <Table.Td>
                  <Badge color={row.revoked_at ? 'gray' : 'green'} variant="dot">
                    {row.revoked_at ? texts.revoked : texts.active}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  {!row.revoked_at && (
                    <Button
                      size="compact-sm"
                      variant="outline"
                      color="red"
                      aria-label={`${texts.revoke} ${row.what}`}
                      onClick={() =>
                        void revoking.run(async () => {
                          await api('DELETE', row.revokePath);
                          reload();
                        })
                      }
                    >
                      {texts.revoke}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {secret && (
        <Stack gap={4}>
          <Text fw={700}>{texts.secretOnce}</Text>
          <Code block data-testid="new-secret">
            {secret}
          </Code>
        </Stack>
      )}
      <Group align="flex-start" grow>
        <Section title={texts.newSecrets}>
          <NewSecrets texts={texts} client={client} onCreated={created} />
        </Section>
        <Section title={texts.jwtKey}>
          <NewJwtKey texts={texts} client={client} onCreated={() => created(undefined)} />
        </Section>
        <Section title={texts.certificate}>
          <NewCertificate texts={texts} client={client} onCreated={() => created(undefined)} />
        </Section>
      </Group>
    </Stack>
  );
}

const Section = ({ title, children }: { title: string; children: ReactNode }) => (
  <Stack gap="xs">
    <Title order={3} size="h5">
      {title}
    </Title>
    {children}
  </Stack>
);

/** An API key or an OAuth client secret, each shown once. */
function NewSecrets({
  texts,
  client,
  onCreated,
}: {
  texts: Texts;
  client: Client;
  onCreated: (secret: string) => void;
}) {
  const { error, busy, run } = useCall();
  const base = `/api/v1/clients/${client.id}`;
  return (
    <Stack gap="xs">
      <Button
        variant="outline"
        loading={busy}
        onClick={() =>
          void run(async () => onCreated((await api<{ key: string }>('POST', `${base}/keys`, {})).key))
        }
      >
        {texts.createKey}
      </Button>
      <Button
        variant="outline"
        loading={busy}
        onClick={() =>
          void run(async () => {
            const created = await api<{ client_secret: string }>('POST', `${base}/oauth/secrets`, {});
            onCreated(`client_id: ${client.id}\nclient_secret: ${created.client_secret}`);
          })
        }
      >
        {texts.createSecret}
      </Button>
      <ProblemAlert error={error} />
    </Stack>
  );
}

/** The public key a client signs its OAuth assertions with (private_key_jwt): a JWKS URL, or a JWK. */
function NewJwtKey({ texts, client, onCreated }: { texts: Texts; client: Client; onCreated: () => void }) {
  const [jwksUri, setJwksUri] = useState('');
  const [jwk, setJwk] = useState('');
  const [allowPrivate, setAllowPrivate] = useState(false);
  const [jwkError, setJwkError] = useState<string | undefined>();
  const { error, busy, run } = useCall();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = jwk.trim() ? JSON.parse(jwk) : undefined;
      setJwkError(undefined);
    } catch {
      setJwkError(texts.notJson);
      return;
    }
    void run(async () => {
      await api('POST', `/api/v1/clients/${client.id}/oauth/keys`, {
        ...(jwksUri ? { jwks_uri: jwksUri } : {}),
        ...(parsed === undefined ? {} : { jwk: parsed }),
        ...(allowPrivate ? { allow_private_addresses: true } : {}),
      });
      setJwksUri('');
      setJwk('');
      onCreated();
    });
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <TextInput
          label={texts.jwksUrl}
          description={texts.jwksUrlHelp}
          value={jwksUri}
          onChange={(event) => setJwksUri(event.currentTarget.value)}
          error={error?.forField('jwks_uri')}
        />
        <Textarea
          label={texts.jwk}
          autosize
          minRows={2}
          value={jwk}
          onChange={(event) => setJwk(event.currentTarget.value)}
          error={jwkError ?? error?.forField('jwk')}
        />
        <Checkbox
          label={texts.allowPrivate}
          checked={allowPrivate}
          onChange={(event) => setAllowPrivate(event.currentTarget.checked)}
        />
        <ProblemAlert error={error} fields={['jwks_uri', 'jwk', 'allow_private_addresses']} />
        <Button type="submit" variant="outline" loading={busy}>
          {texts.registerKey}
        </Button>
      </Stack>
    </form>
  );
}

/** A client certificate for the mutual-TLS listener: its PEM, pasted or read from a file. */
function NewCertificate({
  texts,
  client,
  onCreated,
}: {
  texts: Texts;
  client: Client;
  onCreated: () => void;
}) {
  const [pem, setPem] = useState('');
  const [description, setDescription] = useState('');
  const { error, busy, run } = useCall();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await api('POST', `/api/v1/clients/${client.id}/certificates`, {
        pem,
        ...(description ? { description } : {}),
      });
      setPem('');
      setDescription('');
      onCreated();
    });
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <FileInput
          label={texts.certificateFile}
          accept=".pem,.crt,.cer"
          onChange={(file) => void file?.text().then(setPem)}
        />
        <Textarea
          label={texts.certificatePem}
          autosize
          minRows={2}
          maxRows={6}
          value={pem}
          onChange={(event) => setPem(event.currentTarget.value)}
          error={error?.forField('pem')}
          required
        />
        <TextInput
          label={texts.description}
          value={description}
          onChange={(event) => setDescription(event.currentTarget.value)}
          error={error?.forField('description')}
        />
        <ProblemAlert error={error} fields={['pem', 'description']} />
        <Button type="submit" variant="outline" loading={busy}>
          {texts.uploadCertificate}
        </Button>
      </Stack>
    </form>
  );
}
