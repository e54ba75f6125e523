import {
  Alert,
  Button,
  Code,
  CopyButton,
  Group,
  MultiSelect,
  Select,
  Stack,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type Client, type Session } from './api.ts';
import { ExportList, type SavedDefinition } from './ExportList.tsx';
import { ExportVersions, type ExportVersion, type Who } from './ExportVersions.tsx';
import { fill, type Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * The export definitions designer (SR-022): the saved definitions and their owners; entity, fields
 * (with the policy class that applies to each), a filter in the DCI expression language, format;
 * saved as versions, with their approval when a version weakens privacy; a preview of the first
 * rows in the chosen format; the API and CLI calls that run it.
 */

interface Field {
  name: string;
  type: string;
  field_class: string | null;
  direct_identifier: boolean;
}
interface Definition extends SavedDefinition {
  fields: string[];
  filter: Record<string, unknown> | null;
  approval: ExportVersion['approval'];
}

/**
 * What a version keeps of the one before without the designer showing it: saving from the designer
 * must not turn pseudonymisation off, nor drop a schedule.
 */
const KEPT = [
  'description',
  'include_members',
  'pseudonymise',
  'drop_direct_identifiers',
  'schedule',
  'schedule_purpose',
  'schedule_legal_basis',
] as const;
const kept = (definition: Record<string, unknown>) =>
  Object.fromEntries(KEPT.map((name) => [name, definition[name]]).filter(([, value]) => value !== null));

const ENTITIES = ['households', 'individuals', 'household_members'];
const FORMATS = ['csv', 'json', 'ndjson', 'xml', 'parquet'];
const BASES = [
  'public_task',
  'legal_obligation',
  'consent',
  'contract',
  'vital_interests',
  'legitimate_interests',
];

/** How the page names clients: "you", a name where the signed-in client may list clients, else the id. */
function useWho(texts: Texts, session: Session): Who {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const listsClients = session.permissions.includes('clients:manage');
  useEffect(() => {
    if (listsClients) {
      api<{ items: Client[] }>('GET', '/api/v1/clients').then(
        (page) => setNames(new Map(page.items.map((client) => [client.id, client.name]))),
        () => undefined, // names are a convenience: ids are shown without them
      );
    }
  }, [listsClients]);
  return (id) => (id === null ? '—' : id === session.client.id ? texts.you : (names.get(id) ?? id));
}

export function Exports({ texts, session }: { texts: Texts; session: Session }) {
  const [catalogue, setCatalogue] = useState<Record<string, Field[]>>({});
  const [design, setDesign] = useState({
    name: '',
    entity: 'households',
    fields: [] as string[],
    filter: '',
    format: 'csv',
  });
  const [saved, setSaved] = useState<Definition | undefined>();
  const [versions, setVersions] = useState<ExportVersion[]>([]);
  const [definitions, setDefinitions] = useState<SavedDefinition[]>([]);
  // What the last save did: a version saved, or one waiting for approval.
  const [outcome, setOutcome] = useState<{ text: string; waits: boolean } | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [statement, setStatement] = useState({ purpose: '', legal_basis: 'public_task' });
  const [preview, setPreview] = useState<string | undefined>();
  const who = useWho(texts, session);

  const listDefinitions = useCallback(() => {
    api<{ items: SavedDefinition[] }>('GET', '/api/v1/export-definitions').then(
      (list) => setDefinitions(list.items),
      setError,
    );
  }, []);
  useEffect(() => {
    api<Record<string, Field[]>>('GET', '/api/v1/export-fields').then(setCatalogue, setError);
    listDefinitions();
  }, [listDefinitions]);
  const set = (change: Partial<typeof design>) => setDesign((current) => ({ ...current, ...change }));
  const path = (name: string) => `/api/v1/export-definitions/${encodeURIComponent(name)}`;

  /** The definition as saved (its version in use) and every version of it, newest first. */
  const refresh = async (name: string) => {
    const [current, list] = await Promise.all([
      api<Definition>('GET', path(name)),
      api<{ items: ExportVersion[] }>('GET', `${path(name)}/versions`),
    ]);
    setSaved(current);
    setVersions(list.items);
    listDefinitions();
    return current;
  };

  const open = (name: string) => {
    setError(undefined);
    setOutcome(undefined);
    setPreview(undefined);
    refresh(name).then((current) => {
      const filter = current.filter ? JSON.stringify(current.filter) : '';
      setDesign({ name, entity: current.entity, fields: current.fields, filter, format: current.format });
    }, setError);
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    let filter: unknown;
    try {
      filter = design.filter.trim() ? JSON.parse(design.filter) : undefined;
    } catch {
      setError(
        new ApiError(400, texts.failed, undefined, [{ pointer: '/filter', detail: texts.filterNotJson }]),
      );
      return;
    }
    const body = {
      name: design.name,
      entity: design.entity,
      fields: design.fields,
      format: design.format,
      ...(filter ? { filter } : {}),
    };
    setOutcome(undefined);
    try {
      const current = await api<Record<string, unknown>>('GET', path(design.name)).catch(
        (caught: ApiError) => (caught.status === 404 ? undefined : Promise.reject(caught)),
      );
      const definition = current
        ? await api<Definition>('PUT', path(design.name), { ...kept(current), ...body })
        : await api<Definition>('POST', '/api/v1/export-definitions', body);
      setPreview(undefined);
      const inUse = await refresh(definition.name);
      setOutcome(
        definition.approval === 'pending'
          ? {
              text: fill(texts.waitsForApproval, { pending: definition.version, inUse: inUse.version }),
              waits: true,
            }
          : { text: `${texts.savedVersion} ${definition.version}`, waits: false },
      );
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : undefined);
    }
  };

  const dataUrl = (definition: Definition, limit?: number) => {
    const query = new URLSearchParams({ legal_basis: statement.legal_basis, format: design.format });
    if (statement.purpose) {
      query.set('purpose', statement.purpose);
    }
    if (limit) {
      query.set('limit', String(limit));
    }
    return `/api/v1/export-definitions/${encodeURIComponent(definition.name)}/data?${query}`;
  };
  const showPreview = async () => {
    if (!saved) {
      return;
    }
    setError(undefined);
    const response = await fetch(dataUrl(saved, 5), { credentials: 'same-origin' });
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as {
        title?: string;
        detail?: string;
        errors?: [];
      };
      setError(
        new ApiError(response.status, problem.title ?? texts.failed, problem.detail, problem.errors ?? []),
      );
      return;
    }
    setPreview(
      design.format === 'parquet'
        ? `${texts.binaryPreview} (${(await response.arrayBuffer()).byteLength} bytes)`
        : await response.text(),
    );
  };

  const fieldOptions = (catalogue[design.entity] ?? []).map((field) => ({
    value: field.name,
    label: field.field_class ? `${field.name} (${field.field_class})` : field.name,
  }));
  const curl =
    saved && `curl -OJ -H "Authorization: Bearer $KEY" "${window.location.origin}${dataUrl(saved)}"`;
  const cli =
    saved &&
    `spx export --definition ${saved.name} --out ${saved.name}.${design.format} --legal-basis ${statement.legal_basis}` +
      (statement.purpose ? ` --purpose "${statement.purpose}"` : '');

  return (
    <Stack>
      <Title order={1}>{texts.exportsTitle}</Title>
      <Text>{texts.exportsHelp}</Text>
      <Title order={2} size="h3">
        {texts.definitionsList}
      </Title>
      <ExportList texts={texts} definitions={definitions} who={who} onOpen={open} />
      <form onSubmit={(event) => void save(event)} aria-labelledby="design">
        <Stack gap="xs">
          <Title order={2} size="h3" id="design">
            {texts.design}
          </Title>
          <Group align="flex-start" grow>
            <TextInput
              label={texts.name}
              value={design.name}
              onChange={(event) => set({ name: event.currentTarget.value })}
              error={error?.forField('name')}
              required
            />
            <Select
              label={texts.entity}
              data={ENTITIES}
              value={design.entity}
              onChange={(value) => value && set({ entity: value, fields: [] })}
              allowDeselect={false}
              error={error?.forField('entity')}
            />
            <Select
              label={texts.format}
              data={FORMATS}
              value={design.format}
              onChange={(value) => value && set({ format: value })}
              allowDeselect={false}
              error={error?.forField('format')}
            />
          </Group>
          <MultiSelect
            label={texts.fields}
            description={texts.fieldsHelp}
            data={fieldOptions}
            value={design.fields}
            onChange={(fields) => set({ fields })}
            searchable
            error={error?.forField('fields')}
          />
          <Textarea
            label={texts.filter}
            description={texts.filterHelp}
            placeholder='{"pmt_score": {"$lt": 30}}'
            value={design.filter}
            onChange={(event) => set({ filter: event.currentTarget.value })}
            autosize
            minRows={2}
            error={error?.forField('filter')}
          />
          <Group>
            <Button type="submit">{texts.saveVersion}</Button>
            {outcome && !outcome.waits && <Text role="status">{outcome.text}</Text>}
          </Group>
          {outcome?.waits && (
            <Alert color="yellow" role="status">
              {outcome.text}
            </Alert>
          )}
        </Stack>
      </form>
      <ProblemAlert error={error} fields={['name', 'entity', 'format', 'fields', 'filter', 'purpose']} />
      {saved && (
        <Stack gap="xs">
          <Title order={2} size="h3">
            {texts.previewTitle}
          </Title>
          <Group align="flex-end" grow>
            <TextInput
              label={texts.purpose}
              value={statement.purpose}
              onChange={(event) => setStatement({ ...statement, purpose: event.currentTarget.value })}
              error={error?.forField('purpose')}
            />
            <Select
              label={texts.legalBasis}
              data={BASES}
              value={statement.legal_basis}
              onChange={(value) => value && setStatement({ ...statement, legal_basis: value })}
              allowDeselect={false}
            />
            <Button onClick={() => void showPreview()}>{texts.preview}</Button>
          </Group>
          {preview !== undefined && (
            <Code
              block
              data-testid="preview"
              style={{ whiteSpace: 'pre-wrap', maxHeight: 300, overflow: 'auto' }}
            >
              {preview}
            </Code>
          )}
          <Text>{texts.runIt}</Text>
          {[curl!, cli!].map((command) => (
            <Group key={command} wrap="nowrap" align="flex-start">
              <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', flex: 1 }}>
                {command}
              </Code>
              <CopyButton value={command}>
                {({ copied, copy }) => (
                  <Button variant="outline" onClick={copy}>
                    {copied ? texts.copied : texts.copy}
                  </Button>
                )}
              </CopyButton>
            </Group>
          ))}
          <ExportVersions
            texts={texts}
            versions={versions}
            who={who}
            selfId={session.client.id}
            mayDecide={session.permissions.includes('exports:admin')}
            onDecided={() => void refresh(saved.name).catch(setError)}
          />
        </Stack>
      )}
    </Stack>
  );
}
