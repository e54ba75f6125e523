import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '#test/db';

/**
 * The Kysely types of types.ts are written by hand beside the migrations; this checks they agree with
 * the migrated schema (architecture issue, item 4): the same tables, the same columns, each column
 * nullable in both or in neither, a value the database fills in (`Generated`, `Defaulted`) only where
 * the column has a default, and a TypeScript type of the kind the column's SQL type is read as
 * (type-parsers.ts: int8 and numeric as numbers, date as a string).
 */

interface Column {
  nullable: boolean;
  /** The database fills it in when an insert leaves it out. */
  defaulted: boolean;
  kind: string;
}
/** A table's columns; undefined for a JSON column typed `unknown` on select. */
type Tables = Map<string, Map<string, Column | undefined>>;

const TYPES_FILE = fileURLToPath(new URL('./types.ts', import.meta.url));

/** The SQL data types, by the kind of JavaScript value the row holds. */
const KIND_OF_SQL: Record<string, string> = {
  text: 'string',
  'character varying': 'string',
  character: 'string',
  uuid: 'string',
  date: 'string',
  inet: 'string',
  xid8: 'string',
  smallint: 'number',
  integer: 'number',
  bigint: 'number',
  numeric: 'number',
  real: 'number',
  'double precision': 'number',
  boolean: 'boolean',
  'timestamp with time zone': 'Date',
  bytea: 'Buffer',
  ARRAY: 'array',
  jsonb: 'json',
  json: 'json',
};

async function schemaTables(test: TestDatabase): Promise<Tables> {
  const { rows } = await test.database.executeSql<{
    table_name: string;
    column_name: string;
    is_nullable: 'YES' | 'NO';
    column_default: string | null;
    is_identity: 'YES' | 'NO';
    data_type: string;
  }>(
    `select c.table_name, c.column_name, c.is_nullable, c.column_default, c.is_identity, c.data_type
       from information_schema.columns c
       join information_schema.tables t using (table_schema, table_name)
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'`,
  );
  const tables: Tables = new Map();
  for (const row of rows) {
    const columns = tables.get(row.table_name) ?? new Map<string, Column | undefined>();
    columns.set(row.column_name, {
      nullable: row.is_nullable === 'YES',
      defaulted: row.column_default !== null || row.is_identity === 'YES',
      kind: KIND_OF_SQL[row.data_type] ?? `unknown SQL type ${row.data_type}`,
    });
    tables.set(row.table_name, columns);
  }
  return tables;
}

/** The tables of the `DB` interface of types.ts, read with the TypeScript checker (extends followed). */
function declaredTables(): Tables {
  const program = ts.createProgram([TYPES_FILE], { strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(TYPES_FILE)!;
  const db = file.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'DB',
  )!;
  const tables: Tables = new Map();
  for (const table of checker.getTypeAtLocation(db).getProperties()) {
    const columns = new Map<string, Column | undefined>();
    for (const column of checker.getTypeOfSymbolAtLocation(table, db).getProperties()) {
      columns.set(column.name, describe_(checker, checker.getTypeOfSymbolAtLocation(column, db), db));
    }
    tables.set(table.name, columns);
  }
  return tables;
}

/**
 * A column's type: Kysely's ColumnType<Select, Insert, Update> (Generated is one), possibly in a
 * union with null, or a plain type. A select type of `unknown` (a JSON column read as it comes)
 * says nothing of nullability or kind.
 */
function describe_(checker: ts.TypeChecker, type: ts.Type, at: ts.Node): Column | undefined {
  const members = (t: ts.Type): ts.Type[] => (t.isUnion() ? t.types : [t]);
  const part = (t: ts.Type, name: string): ts.Type[] => {
    const symbol = t.getProperty(name);
    return symbol ? members(checker.getTypeOfSymbolAtLocation(symbol, at)) : [t];
  };
  const select = members(type).flatMap((t) => part(t, '__select__'));
  const insert = members(type).flatMap((t) => part(t, '__insert__'));
  if (select.some((t) => t.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any))) {
    return undefined;
  }
  const kinds = new Set(select.filter((t) => !(t.flags & ts.TypeFlags.Null)).map((t) => kindOf(checker, t)));
  return {
    nullable: select.some((t) => t.flags & ts.TypeFlags.Null),
    defaulted: insert.some((t) => t.flags & ts.TypeFlags.Undefined),
    kind: [...kinds].sort().join(' | '),
  };
}

function kindOf(checker: ts.TypeChecker, type: ts.Type): string {
  if (type.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.StringLiteral)) {
    return 'string';
  }
  if (type.flags & ts.TypeFlags.NumberLike) {
    return 'number';
  }
  if (type.flags & ts.TypeFlags.BooleanLike) {
    return 'boolean';
  }
  if (checker.isArrayType(type)) {
    return 'array';
  }
  const name = type.getSymbol()?.name;
  return name === 'Date' || name === 'Buffer' ? name : 'json';
}

describe('the Kysely types of types.ts', () => {
  let test: TestDatabase;
  let schema: Tables;
  let declared: Tables;

  beforeAll(async () => {
    test = await createTestDatabase();
    schema = await schemaTables(test);
    declared = declaredTables();
  });
  afterAll(() => test.drop());

  it('name every table of the migrated schema, and no other', () => {
    expect([...declared.keys()].sort()).toEqual([...schema.keys()].sort());
  });

  it('give each table exactly its columns, with their nullability, defaults and kinds of value', () => {
    const mismatches: string[] = [];
    for (const [table, columns] of schema) {
      const types = declared.get(table);
      for (const name of new Set([...columns.keys(), ...(types?.keys() ?? [])])) {
        const sql = columns.get(name);
        const ts_ = types?.get(name);
        if (!sql || !types?.has(name)) {
          mismatches.push(`${table}.${name}: ${sql ? 'not in types.ts' : 'no such column'}`);
          continue;
        }
        if (!ts_) {
          continue;
        }
        if (sql.nullable !== ts_.nullable) {
          mismatches.push(`${table}.${name}: nullable in ${sql.nullable ? 'SQL' : 'types.ts'} only`);
        }
        if (ts_.defaulted && !sql.defaulted && !sql.nullable) {
          mismatches.push(`${table}.${name}: optional on insert in types.ts, but SQL has no default`);
        }
        if (sql.kind !== 'json' && sql.kind !== ts_.kind) {
          mismatches.push(`${table}.${name}: ${sql.kind} in SQL, ${ts_.kind} in types.ts`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});
