import {
  getArgumentValues,
  getNamedType,
  getOperationAST,
  GraphQLError,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  Kind,
  typeFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type NamedTypeNode,
  type SelectionSetNode,
} from 'graphql/index.js';

/**
 * How much a query may ask for, checked after validation and before any SQL runs: its depth, the
 * page size of each connection, and its cost, the number of records it may return at most (a page
 * of 500 households with their members is 500 + 500 x 10). A query past a limit is refused as a
 * whole, naming the limit, so that one request cannot make the database read the registry.
 */
export const GRAPHQL_LIMITS = {
  /** Levels of fields, the leaves included; introspection fields are not counted. */
  depth: 8,
  /** Records a query may return at most, as estimated below. */
  cost: 10_000,
  /** `first` of any connection. */
  first: 500,
} as const;

/** The types that stand for records (`_Entity`: any of them, for a federated gateway). */
const RECORD_TYPES = new Set(['Household', 'Individual', 'Enrollment', 'Program', '_Entity']);

/**
 * Sizes assumed for lists without a page size: a household's members (the registry's households
 * have 1 to 12), a household's or person's enrollments, the programs.
 */
const ASSUMED_LIST_SIZE: Record<string, number> = {
  'Household.members': 10,
  'Household.enrollments': 5,
  'Individual.enrollments': 5,
  'Query.programs': 20,
};

interface Price {
  cost: number;
  depth: number;
}

const refusal = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });

/** Why the operation may not run (an unknown operation, or past a limit); none: it may run. */
export function checkLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): GraphQLError[] {
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    return [refusal(operationName ? `no operation named "${operationName}"` : 'name the operation to run')];
  }
  const root = schema.getRootType(operation.operation);
  if (!root) {
    return [refusal(`this API is read-only: it has no ${operation.operation} operations`)];
  }
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const pricer = new Pricer(schema, fragments, variables ?? {});
  const price = pricer.selections(operation.selectionSet, root);
  if (pricer.errors.length > 0) {
    return pricer.errors;
  }
  const errors: GraphQLError[] = [];
  if (price.depth > GRAPHQL_LIMITS.depth) {
    errors.push(
      new GraphQLError(
        `the query is ${price.depth} levels deep; at most ${GRAPHQL_LIMITS.depth} are allowed`,
        {
          extensions: { code: 'QUERY_TOO_DEEP', depth: price.depth, limit: GRAPHQL_LIMITS.depth },
        },
      ),
    );
  }
  if (price.cost > GRAPHQL_LIMITS.cost) {
    errors.push(
      new GraphQLError(
        `the query may return up to ${price.cost} records; at most ${GRAPHQL_LIMITS.cost} are allowed: ask for smaller pages (first) or fewer nested lists`,
        { extensions: { code: 'QUERY_TOO_COSTLY', cost: price.cost, limit: GRAPHQL_LIMITS.cost } },
      ),
    );
  }
  return errors;
}

/**
 * Walks the selections once. A fragment's price is worked out once and scaled where it is spread
 * (cost is linear in the multiplier), so fragments spread many times cost no more time to price.
 */
class Pricer {
  readonly errors: GraphQLError[] = [];
  readonly #fragmentPrices = new Map<string, Price>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
  ) {}

  /** Cost per parent record and depth of a selection set on `type`. */
  selections(set: SelectionSetNode, type: GraphQLCompositeType): Price {
    let cost = 0;
    let depth = 0;
    for (const selection of set.selections) {
      const price =
        selection.kind === Kind.FIELD
          ? this.field(selection, type)
          : selection.kind === Kind.INLINE_FRAGMENT
            ? this.selections(selection.selectionSet, this.conditionType(selection.typeCondition, type))
            : this.fragment(selection.name.value);
      cost += price.cost;
      depth = Math.max(depth, price.depth);
    }
    return { cost, depth };
  }

  private field(node: FieldNode, parent: GraphQLCompositeType): Price {
    const name = node.name.value;
    // Introspection (__schema, __type, __typename) reads no records and is not counted.
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    if (name.startsWith('__') || !definition) {
      return { cost: 0, depth: 0 };
    }
    const named = getNamedType(definition.type);
    const size = this.listSize(`${parent.name}.${name}`, definition, node);
    const records = RECORD_TYPES.has(named.name) ? size : 0;
    if (!node.selectionSet || !isCompositeType(named)) {
      return { cost: records, depth: 1 };
    }
    const inner = this.selections(node.selectionSet, named);
    return { cost: records + size * inner.cost, depth: 1 + inner.depth };
  }

  /** How many items a field returns at most: `first`, the representations, an assumed size, or 1. */
  private listSize(coordinate: string, definition: GraphQLField<unknown, unknown>, node: FieldNode): number {
    const args = definition.args.length > 0 ? getArgumentValues(definition, node, this.variables) : {};
    if ('first' in args) {
      const first = args['first'];
      if (typeof first !== 'number' || first < 1 || first > GRAPHQL_LIMITS.first) {
        this.errors.push(
          new GraphQLError(`first must be from 1 to ${GRAPHQL_LIMITS.first} (${coordinate})`, {
            nodes: [node],
            extensions: { code: 'BAD_USER_INPUT', limit: GRAPHQL_LIMITS.first },
          }),
        );
        return 0;
      }
      return first;
    }
    if (Array.isArray(args['representations'])) {
      return args['representations'].length;
    }
    return ASSUMED_LIST_SIZE[coordinate] ?? 1;
  }

  private fragment(name: string): Price {
    const known = this.#fragmentPrices.get(name);
    if (known) {
      return known;
    }
    const fragment = this.fragments.get(name);
    // Validation has refused unknown fragments and cycles before this runs.
    const price = fragment
      ? this.selections(fragment.selectionSet, this.conditionType(fragment.typeCondition, undefined))
      : { cost: 0, depth: 0 };
    this.#fragmentPrices.set(name, price);
    return price;
  }

  private conditionType(
    condition: NamedTypeNode | undefined,
    fallback: GraphQLCompositeType | undefined,
  ): GraphQLCompositeType {
    const type = condition ? typeFromAST(this.schema, condition) : fallback;
    // Validation has refused type conditions on unknown or leaf types.
    return type && isCompositeType(type) ? type : this.schema.getQueryType()!;
  }
}
