import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Column } from '../plan.ts';
import { parquetWriter } from './parquet.ts';

const column = (name: string, type: Column['type']): Column => ({
  name,
  type,
  description: name,
  value: () => null,
  column: sql`null`,
  pseudonym: false,
});

describe('Parquet writer', () => {
  it('writes row groups as records come, and the file reads back whole', async () => {
    const columns = [
      column('n', 'integer'),
      column('s', 'string'),
      column('at', 'timestamp'),
      column('ids', 'identifiers'),
    ];
    const writer = parquetWriter(
      { entity: 'individuals', definition: 'd', version: 2, columns, memberColumns: undefined },
      4,
    );
    const chunks: Uint8Array[] = [Buffer.from(writer.start())];
    const records = Array.from({ length: 11 }, (_, n) => ({
      values: [
        n,
        n % 3 === 0 ? null : `s${n}`,
        new Date(Date.UTC(2026, 0, 1 + n)).toISOString(),
        [{ type: 'UIN', value: `U${n}` }],
      ],
    }));
    for (let i = 0; i < records.length; i += 3) {
      chunks.push(Buffer.from(writer.batch(records.slice(i, i + 3))));
    }
    chunks.push(Buffer.from(writer.end()));
    // Groups left as soon as they were full: bytes came out before the end.
    expect(chunks.slice(1, -1).some((chunk) => chunk.length > 0)).toBe(true);
    const file = Buffer.concat(chunks);
    const buffer = Uint8Array.from(file).buffer;
    const metadata = parquetMetadata(buffer);
    // A group is written once 4 records wait: 6 (two batches), then the last 5.
    expect(metadata.row_groups.map((group) => Number(group.num_rows))).toEqual([6, 5]);
    expect(Number(metadata.num_rows)).toBe(11);
    const rows = await parquetReadObjects({ file: buffer });
    expect(rows.map((row) => row['n'])).toEqual(records.map((r) => r.values[0]));
    expect(rows[3]!['s']).toBeNull();
    expect(rows[4]!['s']).toBe('s4');
    expect((rows[10]!['at'] as Date).toISOString()).toBe('2026-01-11T00:00:00.000Z');
    expect(rows[2]!['ids']).toEqual([{ type: 'UIN', value: 'U2' }]);
  });
});
