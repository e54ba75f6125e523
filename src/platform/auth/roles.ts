/**
 * Roles, the permissions (scopes) they grant, and the classes of fields each role may not see.
 * Deny by default: a permission or field class not granted here is refused.
 */
export const PERMISSIONS = [
  'registry:read',
  'registry:write',
  'jobs:read',
  'audit:read',
  'clients:manage',
  'field:submit',
  'metrics:read',
  'exports:manage',
  // Who consented to which purpose: recording, withdrawing and reading a person's consents.
  'consent:manage',
  // Changing another client's export definition, and approving a change that weakens privacy.
  'exports:admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'integrator', 'analyst', 'field_agent', 'system'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Classes of personal or sensitive fields. Each field of a registry record belongs to at most one;
 * a role hides whole classes (see `fieldClassOf` in registry/views.ts).
 */
export const FIELD_CLASSES = [
  'name',
  'birth_date',
  'contact',
  'identifier',
  'address',
  'location',
  'poverty_score',
  'payment_account',
] as const;
export type FieldClass = (typeof FIELD_CLASSES)[number];

interface RoleDefinition {
  permissions: readonly Permission[];
  hiddenFields: readonly FieldClass[];
  description: string;
}

export const roleDefinitions: Record<Role, RoleDefinition> = {
  admin: {
    permissions: PERMISSIONS,
    hiddenFields: [],
    description: 'Operates the gateway: clients, keys, audit, and every record field.',
  },
  integrator: {
    permissions: ['registry:read', 'jobs:read'],
    hiddenFields: ['payment_account'],
    description: 'Another system (program MIS, eligibility framework) reading registry records.',
  },
  analyst: {
    // Analysts design the export definitions they and others run (each run under its caller's policy).
    permissions: ['registry:read', 'jobs:read', 'exports:manage'],
    // Analysts work on de-identified data: no names, IDs (household numbers included), contacts,
    // exact places or dates of birth and death (they get the birth year), nor payment accounts.
    hiddenFields: ['name', 'birth_date', 'contact', 'identifier', 'address', 'location', 'payment_account'],
    description: 'Statistics and targeting analysis on de-identified records.',
  },
  field_agent: {
    // They record the consent people give them (and its withdrawal), with or without a form.
    permissions: ['registry:read', 'field:submit', 'consent:manage'],
    // Field agents register households; they must not see scores that would let them coach answers.
    hiddenFields: ['poverty_score', 'payment_account'],
    description: 'Enumerators registering and updating households in the field.',
  },
  system: {
    // Case management systems record consent as case workers obtain it.
    permissions: ['registry:read', 'registry:write', 'jobs:read', 'metrics:read', 'consent:manage'],
    hiddenFields: [],
    description: 'Trusted internal service of the ministry.',
  },
};

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);
export const isPermission = (value: string): value is Permission =>
  (PERMISSIONS as readonly string[]).includes(value);
