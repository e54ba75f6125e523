import { Type, type Static } from '@sinclair/typebox';

/**
 * Response and query schemas of the registry read API. Fields that a role may not see are optional:
 * the field policy leaves them out (registry/views.ts), and Fastify's serializer sends only what is
 * declared here, a second guard behind the policy.
 */
const Id = Type.String({ format: 'uuid' });
const DateOnly = Type.String({ format: 'date' });
const Timestamp = Type.String({ format: 'date-time' });
/** A schema that may also be null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

export const Identifier = Type.Object({ type: Type.String(), value: Type.String() });

export const IndividualSchema = Type.Object({
  id: Id,
  household_id: Id,
  relationship_to_head: Type.String({ description: 'DCI RelationshipTypeEnum code (SELF is the head)' }),
  given_name: Type.Optional(Type.String()),
  middle_name: Type.Optional(Nullable(Type.String())),
  family_name: Type.Optional(Type.String()),
  sex: Type.String({ enum: ['male', 'female', 'other', 'unknown'] }),
  birth_date: Type.Optional(Nullable(DateOnly)),
  birth_year: Nullable(Type.Integer()),
  phone: Type.Optional(Nullable(Type.String())),
  marital_status: Nullable(Type.String()),
  disability: Type.Boolean(),
  disability_type: Nullable(Type.String()),
  is_deceased: Type.Boolean(),
  deceased_date: Type.Optional(Nullable(DateOnly)),
  consent: Type.Object({ data_sharing: Type.Boolean(), contact: Type.Boolean() }),
  identifiers: Type.Optional(Type.Array(Identifier)),
  status: Type.String(),
  registered_at: Timestamp,
  updated_at: Timestamp,
  version: Type.Integer(),
});
export type IndividualView = Static<typeof IndividualSchema>;

export const HouseholdSchema = Type.Object({
  id: Id,
  household_number: Type.Optional(Type.String()),
  group_type: Type.String(),
  status: Type.String(),
  admin_area_code: Type.String(),
  location: Type.Optional(Nullable(Type.Object({ latitude: Type.Number(), longitude: Type.Number() }))),
  address_line: Type.Optional(Nullable(Type.String())),
  locality: Type.Optional(Nullable(Type.String())),
  pmt_score: Type.Optional(Nullable(Type.Number())),
  income_band: Type.Optional(Nullable(Type.String())),
  dwelling_type: Nullable(Type.String()),
  water_source: Nullable(Type.String()),
  has_electricity: Nullable(Type.Boolean()),
  assets: Type.Array(Type.String()),
  member_count: Type.Integer(),
  registered_at: Timestamp,
  updated_at: Timestamp,
  version: Type.Integer(),
});
export type HouseholdView = Static<typeof HouseholdSchema>;

export const HouseholdDetailSchema = Type.Object({
  ...HouseholdSchema.properties,
  members: Type.Array(IndividualSchema),
});

/** A program's code, as URLs and requests name it. */
export const ProgramCode = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,40}$' });

export const ProgramSchema = Type.Object({
  id: Id,
  code: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  benefit_type: Type.String(),
  target_unit: Type.String({ enum: ['household', 'individual'] }),
  benefit_frequency: Nullable(Type.String()),
  currency: Nullable(Type.String()),
  exclusion_groups: Type.Array(Type.String(), {
    description: 'Programs sharing a group are mutually exclusive',
  }),
  active: Type.Boolean(),
});
export type ProgramView = Static<typeof ProgramSchema>;

export const EnrollmentSchema = Type.Object({
  id: Id,
  program: Type.Object({ id: Id, code: Type.String(), name: Type.String() }),
  beneficiary: Type.Object({
    type: Type.String({ enum: ['individual', 'household'] }),
    id: Id,
  }),
  program_beneficiary_id: Type.Optional(Nullable(Type.String())),
  status: Type.String({ enum: ['enrolled', 'suspended', 'graduated', 'exited'] }),
  status_reason: Nullable(Type.String()),
  enrolled_at: DateOnly,
  benefit_amount: Nullable(Type.Number()),
  currency: Nullable(Type.String()),
  payment_method: Nullable(Type.String()),
  payment_account: Type.Optional(Nullable(Type.String())),
  last_payment_at: Nullable(DateOnly),
  history: Type.Array(
    Type.Object({
      from_status: Nullable(Type.String()),
      to_status: Type.String(),
      reason: Nullable(Type.String()),
      changed_at: Timestamp,
    }),
  ),
  updated_at: Timestamp,
  version: Type.Integer(),
});
export type EnrollmentView = Static<typeof EnrollmentSchema>;

export const AdminAreaSchema = Type.Object({
  code: Type.String(),
  name: Type.String(),
  level: Type.Integer(),
  level_name: Type.String(),
  parent_code: Nullable(Type.String()),
  boundary: Type.Optional(Type.Unknown({ description: 'GeoJSON geometry (RFC 7946)' })),
});
