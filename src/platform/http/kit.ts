import { Kind, Type, TypeRegistry, type SchemaOptions, type TUnsafe } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '#platform/auth/principal';
import type { Permission } from '#platform/auth/roles';
import type { RegistryName, RouteAccess } from './types.ts';

/**
 * The route kit: what every admin-API route file declares the same way (STYLE habit 4: access on
 * every route; habit 2: one schema gives validation, type and OpenAPI entry). Lists page with the
 * keyset cursors of pagination.ts.
 */

const PROBLEM = { $ref: 'Problem#' } as const;

/** The documented problem answers (RFC 9457, schema `Problem`) of a route, e.g. `problems(400, 404)`. */
export function problems<S extends number>(...statuses: S[]): Record<S, typeof PROBLEM> {
  return Object.fromEntries(statuses.map((status) => [status, PROBLEM])) as Record<S, typeof PROBLEM>;
}

/** Path parameters of a route on one row by its id. */
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/**
 * The access of a family of routes: the permission they need and the type of resource they audit,
 * e.g. `const manage = accessTo('clients:manage', 'odk_form')`, then `config: manage('odk.form.create')`.
 * A route may name another resource type; `registry` names the registry whose records the routes
 * serve (for data sharing agreements).
 */
export const accessTo =
  (permission: Permission, resourceType: string, registry?: RegistryName) =>
  (action: string, type: string = resourceType): { access: RouteAccess } => ({
    access: {
      permission,
      audit: { action, resourceType: type },
      ...(registry ? { registry } : {}),
    },
  });

/**
 * The principal of an authenticated request. Access control sets it before any handler of a route
 * that declares a permission; a public route has none, and asking for it there is a bug.
 */
export function principalOf(request: Pick<FastifyRequest, 'principal'>): Principal {
  if (!request.principal) {
    throw new Error('principalOf: no principal (a public route, or access control not installed)');
  }
  return request.principal;
}

const STRING_ENUM = 'StringEnum';
// TypeBox's own checks (Value.Check: job payloads, settings) know the kind; Fastify's validator
// reads the JSON schema, which is exactly `Type.String({ enum })`'s.
if (!TypeRegistry.Has(STRING_ENUM)) {
  TypeRegistry.Set<{ enum: readonly string[] }>(
    STRING_ENUM,
    (schema, value) => typeof value === 'string' && schema.enum.includes(value),
  );
}

/**
 * A string that is one of `values`, typed as their union (`Type.String({ enum })` types as a plain
 * string, which handlers then had to cast). Its JSON schema is `{ type: 'string', enum: values }`.
 */
export const StringEnum = <const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> =>
  Type.Unsafe<T[number]>({ ...options, [Kind]: STRING_ENUM, type: 'string', enum: [...values] });
