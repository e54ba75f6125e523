import { Type, type Static } from '@sinclair/typebox';
import { FIELD_CLASSES } from '#platform/auth/roles';
import type { RegistryName } from '#platform/http/types';
import { StringEnum } from '#platform/http/kit';

/** The registries a policy may name. */
export const REGISTRIES = ['social', 'ibr'] as const satisfies readonly RegistryName[];

const OperationPattern = Type.String({
  pattern: '^(\\*|[a-z0-9_-]+)(\\.(\\*|[a-z0-9_-]+)){0,7}$',
  maxLength: 120,
  description:
    'A route audit action (e.g. household.read, dci.social.search); `*` stands for one dot-separated segment (dci.*.search)',
});
// The purpose codes of DCI consent objects (dci/consent.ts), so one list serves X-Purpose and DCI messages.
const Purpose = Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,100}$' });
const AreaCode = Type.String({ pattern: '^[A-Za-z0-9-]{1,40}$', description: 'Includes the areas below it' });
const list = <T extends ReturnType<typeof Type.String>>(item: T, maxItems: number, description: string) =>
  Type.Array(item, { minItems: 1, maxItems, uniqueItems: true, description });

/** The body of PUT /clients/{id}/policy: the whole policy (an absent list does not restrict). */
export const PolicyInput = Type.Object(
  {
    agreement_ref: Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'Reference of the data sharing agreement (e.g. DSA-2025-014)',
    }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    operations: Type.Optional(
      list(OperationPattern, 200, 'Operations allowed; absent: all the role permits'),
    ),
    registries: Type.Optional(
      Type.Array(StringEnum(REGISTRIES), {
        minItems: 1,
        uniqueItems: true,
        description: 'Registries whose records the client may read; absent: both',
      }),
    ),
    hidden_fields: Type.Optional(
      Type.Array(StringEnum(FIELD_CLASSES), {
        uniqueItems: true,
        description: "Field classes hidden on top of the role's",
      }),
    ),
    purposes: Type.Optional(list(Purpose, 100, 'Purposes the client may state; when set, one is required')),
    area_codes: Type.Optional(
      list(AreaCode, 500, 'Admin areas whose records the client may see; absent: all'),
    ),
    rate_limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Requests per minute, per gateway' }),
    ),
    daily_quota: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Requests per UTC day' }),
    ),
    valid_from: Type.Optional(Type.String({ format: 'date-time' })),
    valid_until: Type.Optional(Type.String({ format: 'date-time', description: 'Expiry of the agreement' })),
  },
  { additionalProperties: false },
);
export type PolicyInput = Static<typeof PolicyInput>;

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const Strings = Type.Array(Type.String());
const DateTime = Type.String({ format: 'date-time' });

/** A stored policy, as the admin API answers it. */
export const PolicySchema = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  agreement_ref: Type.String(),
  description: nullable(Type.String()),
  operations: nullable(Strings),
  registries: nullable(Strings),
  hidden_fields: Strings,
  purposes: nullable(Strings),
  area_codes: nullable(Strings),
  rate_limit: nullable(Type.Integer()),
  daily_quota: nullable(Type.Integer()),
  valid_from: nullable(DateTime),
  valid_until: nullable(DateTime),
  updated_by: nullable(Type.String({ format: 'uuid' })),
  created_at: DateTime,
  updated_at: DateTime,
});
export type PolicyView = Static<typeof PolicySchema>;
