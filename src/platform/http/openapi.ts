import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { PERMISSIONS } from '#platform/auth/roles';
import { ProblemSchema } from '#platform/problem';
import type { App } from './types.ts';

/** Where the REST API lives, its version in the path (the DCI, OpenRosa and GraphQL APIs have their own). */
export const API_PREFIX = '/api/v1';

export interface OpenApiOptions {
  version: string;
  /** SPX_PUBLIC_URL: the document's server; without it the server is `/`, the document's own host. */
  publicUrl: string | undefined;
}

/**
 * OpenAPI 3.1 generated from the route schemas (one schema per message: validation, types and
 * documentation from one source), served at /openapi.json, with an interactive page at /docs.
 * Every operation has an operationId, declared in its route's schema (clients generated from the
 * document name their methods after them); test/platform/api-document.test.ts lints the document.
 */
export async function installOpenApi(app: App, { version, publicUrl }: OpenApiOptions): Promise<void> {
  app.addSchema(ProblemSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'SP Exchange API',
        version,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        description:
          'Interoperability gateway of the Social Registry and Integrated Beneficiary Registry. ' +
          'Errors are RFC 9457 problem details. Every call to a protected route is audited; send ' +
          'the purpose of the access in the X-Purpose header.',
      },
      servers: [{ url: publicUrl?.replace(/\/+$/, '') ?? '/' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key, or an OAuth access token (a JWT), as a bearer token',
          },
          oauth2: {
            type: 'oauth2',
            description:
              'OAuth 2.0 client credentials (RFC 6749 §4.4): the access token is sent as a bearer token',
            flows: {
              clientCredentials: {
                tokenUrl: '/oauth/token',
                scopes: Object.fromEntries(PERMISSIONS.map((permission) => [permission, permission])),
              },
            },
          },
        },
      },
      tags: [
        {
          name: 'registry',
          description: 'Households, individuals, programs and enrollments; change requests',
        },
        {
          name: 'ibr',
          description: 'Integrated Beneficiary Registry: participation, lifecycle, eligibility, identity',
        },
        {
          name: 'odk',
          description:
            'Field data collection: XForms, mappings, submissions, and the OpenRosa API ODK Collect uses (under /odk)',
        },
        {
          name: 'dci',
          description:
            'DCI Social Registry (/dci/sr) and Integrated Beneficiary Registry (/dci/ibr) APIs: bodies as the DCI specification files',
        },
        { name: 'dci admin', description: 'Outgoing DCI callbacks and subscriptions' },
        { name: 'exports', description: 'Export definitions, downloads, jobs and change feeds' },
        { name: 'access', description: 'API clients and keys' },
        { name: 'audit', description: 'The tamper-evident audit trail' },
        { name: 'jobs', description: 'Long-running operations' },
        { name: 'operations', description: 'Health, readiness and metrics' },
        {
          name: 'security',
          description: 'OAuth 2.0 tokens and identity providers, client certificates, policies',
        },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json['$id'] ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { config: { access: { public: true } }, schema: { hide: true } }, () =>
    app.swagger(),
  );
}

/**
 * A response whose body is not JSON (a file, text, a stream), for a route's `schema.response`: each
 * media type (parameters dropped) with a string body, `binary` for bytes. Fastify sends such bodies
 * as they are; the schema documents them (OpenAPI) and serialises nothing.
 */
export function rawResponse(description: string, mediaTypes: readonly string[], binary = false) {
  const schema = { type: 'string', ...(binary ? { format: 'binary' } : {}) };
  const mediaType = (type: string) => type.split(';')[0]!.trim();
  return {
    description,
    content: Object.fromEntries(mediaTypes.map((type) => [mediaType(type), { schema }])),
  };
}
