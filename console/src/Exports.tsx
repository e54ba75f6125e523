import {
  Button,
  Code,
  CopyButton,
  Group,
  MultiSelect,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError } from './api.ts';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * The export definitions designer (SR-022): entity, fields (with the policy class that applies to
 * each), a filter in the DCI expression language, format; saved as versions; a preview of the first
 * rows in the chosen format; the API and CLI calls that run it.
 */

interface Field {
  name: string;
  type: string;
  field_class: string | null;
  direct_identifier: boolean;
}
interface Definition {
  name: string;
  version: number;
  entity: string;
  fields: string[];
  format: string;
}
interface Version {
  version: number;
  created_at: string;
  format: string;
  fields: string[];
}

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

export function Exports({ texts }: { texts: Texts }) {
  const [catalogue, setCatalogue] = useState<Record<string, Field[]>>({});
  const [design, setDesign] = useState({
    name: '',
    entity: 'households',
    fields: [] as string[],
    filter: '',
    format: 'csv',
  });
  const [saved, setSaved] = useState<Definition | undefined>();
  const [versions, setVersions] = useState<Version[]>([]);
  const [error, setError] = useState<ApiError | undefined>();
  const [statement, setStatement] = useState({ purpose: '', legal_basis: 'public_task' });
  const [preview, setPreview] = useState<string | undefined>();

  useEffect(() => {
    api<Record<string, Field[]>>('GET', '/api/v1/export-fields').then(setCatalogue, setError);
  }, []);
  const set = (change: Partial<typeof design>) => setDesign((current) => ({ ...current, ...change }));

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
    try {
      const exists = await api('GET', `/api/v1/export-definitions/${encodeURIComponent(design.name)}`).then(
        () => true,
        (caught: ApiError) => (caught.status === 404 ? false : Promise.reject(caught)),
      );
      const definition = exists
        ? await api<Definition>('PUT', `/api/v1/export-definitions/${encodeURIComponent(design.name)}`, body)
        : await api<Definition>('POST', '/api/v1/export-definitions', body);
      setSaved(definition);
      setPreview(undefined);
      const list = await api<{ items: Version[] }>(
        'GET',
        `/api/v1/export-definitions/${encodeURIComponent(definition.name)}/versions`,
      );
      setVersions(list.items);
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
            {saved && <Text role="status">{`${texts.savedVersion} ${saved.version}`}</Text>}
          </Group>
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
          <Table aria-label={texts.versions}>
            <ColumnHeads labels={[texts.version, texts.created, texts.format, texts.fields]} />
            <Table.Tbody>
              {versions.map((version) => (
                <Table.Tr key={version.version}>
                  <Table.Td>{version.version}</Table.Td>
                  <Table.Td>{new Date(version.created_at).toLocaleString()}</Table.Td>
                  <Table.Td>{version.format}</Table.Td>
                  <Table.Td>{version.fields.join(', ')}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      )}
    </Stack>
  );
}
