import type { Entity } from '../query/attributes.ts';
import type { Registry } from '../spec.ts';

/**
 * Registry events a subscription may name (`reg_event_type`), and the outbox events they stand for
 * (`dci_registry_events.entity` / `.kind`, written by the triggers of migration 0006).
 *
 * The spec's notify enum lists SR `REGISTER`, `NewHouseHoldMember` and IBR `enrollement`,
 * `enrollement_status_change`; the DCI issue also asks for updates, deaths and (IBR, listed in the
 * enum's own description) deregistration: `UPDATE`, `DEATH`, `Deregister` (spec/dci/README.md,
 * tolerated in memory by spec.ts).
 */

export type EventEntity = 'individual' | 'household' | 'enrollment';
/** `enrolment` keeps the spelling the triggers of migration 0006 write (stored values). */
export type EventKind =
  'register' | 'update' | 'death' | 'new_member' | 'enrolment' | 'status_change' | 'deregister';

export interface EventSource {
  entity: EventEntity;
  kind: EventKind;
}

const individual = (kind: EventKind): EventSource => ({ entity: 'individual', kind });
const household = (kind: EventKind): EventSource => ({ entity: 'household', kind });
const enrollment = (kind: EventKind): EventSource => ({ entity: 'enrollment', kind });

/**
 * Per event type, the source event for each entity a subscription may be about. A Group
 * subscription hears of its households' registrations and updates, and of its members' deaths and
 * arrivals; Member and Person subscriptions of the persons'.
 */
const EVENT_TYPES: Record<Registry, Record<string, Partial<Record<Entity, EventSource>>>> = {
  social: {
    REGISTER: { person: individual('register'), group: household('register') },
    UPDATE: { person: individual('update'), group: household('update') },
    DEATH: { person: individual('death'), group: individual('death') },
    NewHouseHoldMember: { person: individual('new_member'), group: individual('new_member') },
  },
  ibr: {
    enrollement: { beneficiary: enrollment('enrolment') },
    enrollement_status_change: { beneficiary: enrollment('status_change') },
    Deregister: { beneficiary: enrollment('deregister') },
  },
};

/** The event types of a registry, as notifications spell them. */
export const eventTypeNames = (registry: Registry): string[] => Object.keys(EVENT_TYPES[registry]);

/**
 * The event type named, in the spelling notifications use: the local name of a namespaced value
 * (`spdci-common:RegistryEventType:REGISTER`), any case. Undefined for an unknown one.
 */
export function eventTypeOf(registry: Registry, name: string): string | undefined {
  const local = (name.split(':').at(-1) ?? '').toLowerCase();
  return eventTypeNames(registry).find((type) => type.toLowerCase() === local);
}

/** The outbox events an event type stands for on this entity, if it applies to it. */
export const eventSourceOf = (
  registry: Registry,
  eventType: string,
  entity: Entity,
): EventSource | undefined => EVENT_TYPES[registry][eventType]?.[entity];

/** The outbox column holding the id of the record a subscription on this entity is notified of. */
export const SUBJECT_COLUMN: Record<Entity, 'individual_id' | 'household_id' | 'enrollment_id'> = {
  person: 'individual_id',
  group: 'household_id',
  beneficiary: 'enrollment_id',
};
