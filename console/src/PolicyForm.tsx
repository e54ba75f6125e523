import { Button, Group, MultiSelect, NumberInput, Stack, TagsInput, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
// The gateway's own list, so that the form offers exactly the classes the API accepts.
import { FIELD_CLASSES } from '../../src/platform/auth/roles.ts';
import { api, type Policy } from './api.ts';
import type { Texts } from './i18n.ts';
import { OutcomeAlert, ProblemAlert } from './ProblemAlert.tsx';
import { useCall } from './useCall.ts';

/**
 * A client's whole policy (its data sharing agreement), as PUT /api/v1/clients/{id}/policy takes it:
 * what it may call, which registries and fields it sees, for which purposes and areas, how often, until
 * when. Used by the "connect a new system" wizard and by a client's page. An empty list does not
 * restrict (the API's rule); each error of the API shows under its field.
 */

// The registries a policy may name (the API's enum: it refuses any other value, by the field).
const REGISTRIES = ['social', 'ibr'];

interface Draft {
  agreement_ref: string;
  description: string;
  operations: string[];
  registries: string[];
  hidden_fields: string[];
  purposes: string[];
  area_codes: string[];
  rate_limit: number | '';
  daily_quota: number | '';
  valid_from: string;
  valid_until: string;
}

const FIELDS: (keyof Draft)[] = [
  'agreement_ref',
  'description',
  'operations',
  'registries',
  'hidden_fields',
  'purposes',
  'area_codes',
  'rate_limit',
  'daily_quota',
  'valid_from',
  'valid_until',
];

const draftOf = (policy: Policy | undefined): Draft => ({
  agreement_ref: policy?.agreement_ref ?? '',
  description: policy?.description ?? '',
  operations: policy?.operations ?? [],
  registries: policy?.registries ?? [],
  hidden_fields: policy?.hidden_fields ?? [],
  purposes: policy?.purposes ?? [],
  area_codes: policy?.area_codes ?? [],
  rate_limit: policy?.rate_limit ?? '',
  daily_quota: policy?.daily_quota ?? '',
  valid_from: policy?.valid_from?.slice(0, 10) ?? '',
  valid_until: policy?.valid_until?.slice(0, 10) ?? '',
});

/** The body of the PUT: empty lists and fields left out (they do not restrict). */
function bodyOf(draft: Draft): Record<string, unknown> {
  const lists = (['operations', 'registries', 'purposes', 'area_codes'] as const).filter(
    (name) => draft[name].length > 0,
  );
  return {
    agreement_ref: draft.agreement_ref,
    ...(draft.description ? { description: draft.description } : {}),
    ...Object.fromEntries(lists.map((name) => [name, draft[name]])),
    hidden_fields: draft.hidden_fields,
    ...(draft.rate_limit === '' ? {} : { rate_limit: draft.rate_limit }),
    ...(draft.daily_quota === '' ? {} : { daily_quota: draft.daily_quota }),
    // A date covers its whole day (UTC): from its first second, until its last.
    ...(draft.valid_from ? { valid_from: `${draft.valid_from}T00:00:00Z` } : {}),
    ...(draft.valid_until ? { valid_until: `${draft.valid_until}T23:59:59Z` } : {}),
  };
}

const numberOf = (value: string | number): number | '' => (value === '' ? '' : Number(value));

export function PolicyForm({
  texts,
  clientId,
  policy,
  submitLabel,
  onSaved,
}: {
  texts: Texts;
  clientId: string;
  policy?: Policy | undefined;
  submitLabel: string;
  onSaved: (saved: Policy) => void;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(policy));
  const { error, busy, done, run } = useCall();
  const set = (change: Partial<Draft>) => setDraft((current) => ({ ...current, ...change }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () =>
      onSaved(await api<Policy>('PUT', `/api/v1/clients/${clientId}/policy`, bodyOf(draft))),
    );
  };
  const errorOf = (field: keyof Draft) => error?.forField(field);
  return (
    <form onSubmit={submit} aria-label={texts.stepAgreement}>
      <Stack gap="xs">
        <Group grow align="flex-start">
          <TextInput
            label={texts.agreementRef}
            description={texts.agreementRefHelp}
            value={draft.agreement_ref}
            onChange={(event) => set({ agreement_ref: event.currentTarget.value })}
            error={errorOf('agreement_ref')}
            required
          />
          <TextInput
            label={texts.agreementDescription}
            value={draft.description}
            onChange={(event) => set({ description: event.currentTarget.value })}
            error={errorOf('description')}
          />
        </Group>
        <TagsInput
          label={texts.purposes}
          description={texts.purposesHelp}
          value={draft.purposes}
          onChange={(purposes) => set({ purposes })}
          error={errorOf('purposes')}
        />
        <TagsInput
          label={texts.areas}
          description={texts.areasHelp}
          value={draft.area_codes}
          onChange={(area_codes) => set({ area_codes })}
          error={errorOf('area_codes')}
        />
        <TagsInput
          label={texts.operations}
          description={texts.operationsHelp}
          value={draft.operations}
          onChange={(operations) => set({ operations })}
          error={errorOf('operations')}
        />
        <Group grow align="flex-start">
          <MultiSelect
            label={texts.registries}
            description={texts.registriesHelp}
            data={REGISTRIES}
            value={draft.registries}
            onChange={(registries) => set({ registries })}
            error={errorOf('registries')}
          />
          <MultiSelect
            label={texts.hiddenFields}
            description={texts.hiddenFieldsHelp}
            data={[...FIELD_CLASSES]}
            value={draft.hidden_fields}
            onChange={(hidden_fields) => set({ hidden_fields })}
            error={errorOf('hidden_fields')}
          />
        </Group>
        <Group grow align="flex-start">
          <NumberInput
            label={texts.rateLimit}
            value={draft.rate_limit}
            onChange={(value) => set({ rate_limit: numberOf(value) })}
            error={errorOf('rate_limit')}
          />
          <NumberInput
            label={texts.dailyQuota}
            value={draft.daily_quota}
            onChange={(value) => set({ daily_quota: numberOf(value) })}
            error={errorOf('daily_quota')}
          />
          <TextInput
            type="date"
            label={texts.validFrom}
            value={draft.valid_from}
            onChange={(event) => set({ valid_from: event.currentTarget.value })}
            error={errorOf('valid_from')}
          />
          <TextInput
            type="date"
            label={texts.validUntil}
            value={draft.valid_until}
            onChange={(event) => set({ valid_until: event.currentTarget.value })}
            error={errorOf('valid_until')}
          />
        </Group>
        <ProblemAlert error={error} fields={FIELDS} />
        {done && <OutcomeAlert ok>{texts.saved}</OutcomeAlert>}
        <Group>
          <Button type="submit" loading={busy}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
