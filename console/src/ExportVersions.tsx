import { Alert, Button, Group, List, Stack, Table, Text, Textarea } from '@mantine/core';
import { useState } from 'react';
import { api, ApiError } from './api.ts';
import { ColumnHeads } from './ColumnHeads.tsx';
import { fill, type Texts } from './i18n.ts';
import { ProblemAlert } from './ProblemAlert.tsx';

/**
 * The saved versions of an export definition, with their approval (docs/exports.md, "Changes that
 * weaken privacy"): a version that weakens privacy on a scheduled definition waits until another
 * holder of exports:admin approves or rejects it, the version before staying in use meanwhile.
 * Holders of exports:admin decide here, with a reason; the API refuses a decision on one's own version.
 */

export interface ExportVersion {
  name: string;
  version: number;
  created_at: string;
  created_by: string | null;
  format: string;
  fields: string[];
  privacy_weakened: string[];
  approval: 'not_needed' | 'pending' | 'approved' | 'rejected';
  decided_by: string | null;
  decision_reason: string | null;
}

/** How the console names a client: "you", its name where the console may list clients, else its id. */
export type Who = (clientId: string | null) => string;

interface DecisionProps {
  texts: Texts;
  who: Who;
  /** The signed-in client: the API refuses its decision on a version it saved. */
  selfId: string;
  /** Holds exports:admin. */
  mayDecide: boolean;
  onDecided: () => void;
}

export function ExportVersions({ versions, ...decision }: DecisionProps & { versions: ExportVersion[] }) {
  const { texts, who } = decision;
  const pending = versions.find((version) => version.approval === 'pending');
  return (
    <Stack gap="xs">
      <Table aria-label={texts.versions}>
        <ColumnHeads
          labels={[texts.version, texts.created, texts.savedBy, texts.format, texts.fields, texts.approval]}
        />
        <Table.Tbody>
          {versions.map((version) => (
            <Table.Tr key={version.version}>
              <Table.Td>{version.version}</Table.Td>
              <Table.Td>{new Date(version.created_at).toLocaleString()}</Table.Td>
              <Table.Td>{who(version.created_by)}</Table.Td>
              <Table.Td>{version.format}</Table.Td>
              <Table.Td>{version.fields.join(', ')}</Table.Td>
              <Table.Td>
                <Approval texts={texts} version={version} who={who} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {pending && <Decision key={pending.version} version={pending} {...decision} />}
    </Stack>
  );
}

function Approval({ texts, version, who }: { texts: Texts; version: ExportVersion; who: Who }) {
  switch (version.approval) {
    case 'not_needed':
      return '—';
    case 'pending':
      return texts.approvalPending;
    case 'approved':
    case 'rejected': {
      const decided = version.approval === 'approved' ? texts.approvedBy : texts.rejectedBy;
      return (
        <>
          <Text size="sm">{fill(decided, { who: who(version.decided_by) })}</Text>
          {version.decision_reason && (
            <Text size="sm" c="dimmed">
              {version.decision_reason}
            </Text>
          )}
        </>
      );
    }
  }
}

/** The version waiting for approval: how it weakens privacy, and, for holders of exports:admin, the decision. */
function Decision({
  texts,
  version,
  who,
  selfId,
  mayDecide,
  onDecided,
}: DecisionProps & { version: ExportVersion }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<ApiError | undefined>();
  const decide = async (decision: 'approve' | 'reject') => {
    setError(undefined);
    try {
      await api(
        'POST',
        `/api/v1/export-definitions/${encodeURIComponent(version.name)}/versions/${version.version}/decision`,
        { decision, reason },
      );
      onDecided();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, String(caught), undefined, []));
    }
  };
  const title = fill(texts.pendingTitle, { version: version.version, who: who(version.created_by) });
  return (
    <Alert
      color="yellow"
      role="region"
      aria-label={title}
      title={title}
      styles={{ title: { color: 'var(--mantine-color-text)' } }}
    >
      <Stack gap="xs">
        <Text size="sm">{texts.pendingHelp}</Text>
        <List size="sm">
          {version.privacy_weakened.map((how) => (
            <List.Item key={how}>{how}</List.Item>
          ))}
        </List>
        {mayDecide && (
          <>
            <Textarea
              label={texts.decisionReason}
              value={reason}
              onChange={(event) => setReason(event.currentTarget.value)}
              error={error?.forField('reason')}
              autosize
              required
            />
            <Group>
              <Button onClick={() => void decide('approve')}>{texts.approve}</Button>
              <Button color="red" onClick={() => void decide('reject')}>
                {texts.reject}
              </Button>
            </Group>
            {error?.status === 403 && version.created_by === selfId ? (
              <Alert color="red" role="alert">
                {texts.decideOwnVersion}
              </Alert>
            ) : (
              <ProblemAlert error={error} fields={['reason']} />
            )}
          </>
        )}
      </Stack>
    </Alert>
  );
}
