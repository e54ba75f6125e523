import { Table } from '@mantine/core';

/** The header row of a data table: one column header (scope col) per label. */
export function ColumnHeads({ labels }: { labels: string[] }) {
  return (
    <Table.Thead>
      <Table.Tr>
        {labels.map((label) => (
          <Table.Th scope="col" key={label}>
            {label}
          </Table.Th>
        ))}
      </Table.Tr>
    </Table.Thead>
  );
}
