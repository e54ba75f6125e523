import type { TestApp } from '#test/app';

/** GraphQL answers are read by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export interface GraphQLAnswer {
  status: number;
  body: Json;
}

/** POST /graphql with a key (none: unauthenticated), through the real app. */
export async function graphql(
  t: TestApp,
  key: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    payload: { query, ...(variables ? { variables } : {}) },
  });
  return { status: res.statusCode, body: res.json<Json>() };
}

/** The nodes of a connection. */
export const nodesOf = (connection: Json): Json[] => connection['edges'].map((edge: Json) => edge['node']);

/**
 * Every node of a connection field, page after page (`first` each), following endCursor; `args`
 * are the field's other arguments as GraphQL source, `fields` the node selection.
 */
export async function everyPage(
  t: TestApp,
  key: string,
  field: 'households' | 'individuals' | 'enrollments',
  { first, args = '', fields = 'id' }: { first: number; args?: string; fields?: string },
): Promise<{ nodes: Json[]; pages: number }> {
  const nodes: Json[] = [];
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    const { status, body }: GraphQLAnswer = await graphql(
      t,
      key,
      `query($first: Int, $after: String) {
        ${field}(first: $first, after: $after ${args}) { edges { cursor node { ${fields} } } pageInfo { hasNextPage endCursor } }
      }`,
      { first, after },
    );
    if (status !== 200 || body['errors']) {
      throw new Error(`page ${pages}: ${status} ${JSON.stringify(body['errors'])}`);
    }
    const connection = body['data'][field];
    nodes.push(...nodesOf(connection));
    if (!connection.pageInfo.hasNextPage) {
      return { nodes, pages };
    }
    after = connection.pageInfo.endCursor;
  }
}
