import { Button, Table, Text } from '@mantine/core';
import { ColumnHeads } from './ColumnHeads.tsx';
import type { Who } from './ExportVersions.tsx';
import type { Texts } from './i18n.ts';

/** A saved definition, as GET /api/v1/export-definitions lists it: its version in use. */
export interface SavedDefinition {
  name: string;
  version: number;
  entity: string;
  format: string;
  owner_id: string | null;
}

/** The saved export definitions, each with its version in use and its owner; one opens in the designer. */
export function ExportList({
  texts,
  definitions,
  who,
  onOpen,
}: {
  texts: Texts;
  definitions: SavedDefinition[];
  who: Who;
  onOpen: (name: string) => void;
}) {
  if (definitions.length === 0) {
    return <Text>{texts.noDefinitions}</Text>;
  }
  return (
    <Table aria-label={texts.definitionsList}>
      <ColumnHeads
        labels={[texts.name, texts.entity, texts.format, texts.inUse, texts.owner, texts.actions]}
      />
      <Table.Tbody>
        {definitions.map((definition) => (
          <Table.Tr key={definition.name}>
            <Table.Td>{definition.name}</Table.Td>
            <Table.Td>{definition.entity}</Table.Td>
            <Table.Td>{definition.format}</Table.Td>
            <Table.Td>{definition.version}</Table.Td>
            <Table.Td>{who(definition.owner_id)}</Table.Td>
            <Table.Td>
              <Button
                size="xs"
                variant="outline"
                aria-label={`${texts.open} ${definition.name}`}
                onClick={() => onOpen(definition.name)}
              >
                {texts.open}
              </Button>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
