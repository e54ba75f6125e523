import { Type, type TSchema } from '@sinclair/typebox';
import { PageQuery } from '#platform/http/pagination';
import { StringEnum } from '#platform/http/kit';
import { ACTIONS, RULES, SEVERITIES } from './rules.ts';

/** The anomaly guard's API messages (validation, types and OpenAPI from one place). */

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });
const Time = Type.String({ format: 'date-time' });
const Count = Type.Integer({ minimum: 0 });

export const AlertSchema = Type.Object({
  id: Uuid,
  client_id: nullable(Uuid),
  source: nullable(
    Type.String({ description: 'For failed authentications: `ip:<address>` or `key:<public key prefix>`' }),
  ),
  rule: StringEnum(RULES),
  severity: StringEnum(SEVERITIES),
  action: StringEnum(ACTIONS, { description: 'What the guard did: alert only, throttle, or suspend' }),
  evidence: Type.Record(Type.String(), Type.Number(), {
    description: 'What tripped the rule, as counts and shares (never record ids or identifiers)',
  }),
  throttled_until: nullable(Time),
  created_at: Time,
  acknowledged_at: nullable(Time),
  acknowledged_by: nullable(Uuid),
  lifted_at: nullable(Time),
  lifted_by: nullable(Uuid),
});

export const AlertQuery = Type.Object(
  {
    ...PageQuery,
    client_id: Type.Optional(Uuid),
    rule: Type.Optional(StringEnum(RULES)),
    status: Type.Optional(
      StringEnum(['open', 'acknowledged'], { description: 'open: not acknowledged yet' }),
    ),
  },
  { additionalProperties: false },
);

export const ClientBaselineSchema = Type.Object({
  client_id: Uuid,
  throttled_for_seconds: Type.Integer({ minimum: 0, description: '0 when the client is not throttled' }),
  baseline: Type.Object(
    {
      active_hours: Count,
      usual_requests_per_hour: Type.Number(),
      error_share: Type.Number(),
      miss_share: Type.Number(),
      requests_by_hour_of_day: Type.Array(Count, {
        minItems: 24,
        maxItems: 24,
        description: 'UTC hours 0 to 23',
      }),
      since: nullable(Time),
    },
    { description: 'The last days of hourly counts, the current hour excluded' },
  ),
  current_hour: Type.Object({ start: Time, requests: Count, errors: Count, lookups: Count, misses: Count }),
  window: Type.Object(
    {
      minutes: Count,
      requests: Count,
      errors: Count,
      lookups: Count,
      misses: Count,
      distinct_keys: Count,
      numbered_lookups: Count,
      walk_steps: Count,
    },
    { description: 'The sliding window of this gateway' },
  ),
});
