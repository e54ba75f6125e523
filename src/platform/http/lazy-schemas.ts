import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

/**
 * Route schemas compiled on a route's first request instead of at start (issue 21, item 3). Fastify
 * compiles every route's validators (Ajv) and response serializers (fast-json-stringify) when the app
 * is ready: for the gateway's few hundred routes that was some half a second of the start and the
 * memory of code most gateways never run. These factories are Fastify's own (resolved from Fastify,
 * so the same versions and options), each compiler wrapped to build its function when first called.
 * A schema that does not compile now fails its route's first request (a 500), not the start: the
 * API document test (test/platform/api-document.test.ts) and each route's tests still compile them.
 */

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;

const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
const ajvCompiler = fastifyRequire('@fastify/ajv-compiler') as () => BuildValidator;
const serializerCompiler = fastifyRequire('@fastify/fast-json-stringify-compiler') as () => BuildSerializer;

/** A validator that compiles on its first call; Fastify reads the errors of a failed call from the function. */
function lazyValidator<Data>(compile: () => ((data: Data) => unknown) & { errors?: unknown }) {
  let compiled: ReturnType<typeof compile> | undefined;
  const validate = (data: Data): unknown => {
    compiled ??= compile();
    const result = compiled(data);
    validate.errors = compiled.errors;
    return result;
  };
  validate.errors = undefined as unknown;
  return validate;
}

/** The schema controller option of the gateway's Fastify instance. */
export function lazySchemaCompilers(): { compilersFactory: CompilersFactory } {
  const buildValidator = ajvCompiler();
  const buildSerializer = serializerCompiler();
  return {
    compilersFactory: {
      buildValidator: (externalSchemas, options) => {
        const compiler = buildValidator(externalSchemas, options);
        // Fastify calls the function and reads `errors`; Ajv's other members (schema, schemaEnv) it never reads.
        return (route) => lazyValidator(() => compiler(route)) as unknown as ReturnType<typeof compiler>;
      },
      buildSerializer: (externalSchemas, options) => {
        const compiler = buildSerializer(externalSchemas, options);
        return (route) => {
          let serialize: ((data: unknown) => string) | undefined;
          return (data: unknown) => (serialize ??= compiler(route))(data);
        };
      },
    },
  };
}
