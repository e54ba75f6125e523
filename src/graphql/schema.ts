import { parse } from 'graphql/index.js';

/**
 * The GraphQL schema of the registry (issue 6, scope item 4), written as an Apollo Federation v2
 * subgraph: Household, Individual, Program and Enrollment are entities keyed by `id`, so that a
 * ministry's federated gateway can join them with its own services (a payments subgraph adding
 * fields to Household, say). Field names are camelCase, the GraphQL convention; values are those
 * of the REST API (statuses, codes, dates as ISO 8601 strings).
 *
 * Fields that a role or a data sharing agreement may hide are nullable: a hidden field resolves to
 * null with one error naming it (see fields.ts). So are the root lists and the enrollment lists, so
 * that a refused argument or registry nulls that field only, not the whole answer. Lists of
 * records are Relay-style connections with opaque cursors; `first` is capped and every query is
 * priced before it runs (limits.ts).
 */
export const SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

  "Any JSON value: the DCI expression of a \`where\` argument."
  scalar JSON

  type Query {
    "A household within your area scope, or null."
    household(id: ID!): Household
    "Households, ordered by id. \`where\` takes a DCI expression over group attributes."
    households(first: Int = 50, after: String, filter: HouseholdFilter, where: JSON): HouseholdConnection
    "A person whose household is within your area scope, or null."
    individual(id: ID!): Individual
    "Persons, ordered by id. \`where\` takes a DCI expression over person attributes."
    individuals(first: Int = 50, after: String, filter: IndividualFilter, where: JSON): IndividualConnection
    "Social protection programs, by code."
    programs: [Program!]!
    "Program enrollments (IBR), ordered by id. \`where\` takes a DCI expression over beneficiary attributes."
    enrollments(first: Int = 50, after: String, filter: EnrollmentFilter, where: JSON): EnrollmentConnection
  }

  input HouseholdFilter {
    "Admin area code; includes the areas below it."
    adminArea: String
    status: HouseholdStatus
    "ISO 8601 date-time: records updated at or after it."
    updatedSince: String
  }

  input IndividualFilter {
    householdId: ID
    sex: Sex
    isDeceased: Boolean
    "Admin area code of the household; includes the areas below it."
    adminArea: String
    "With identifierValue: persons holding this identifier (needs a role that sees identifiers)."
    identifierType: String
    identifierValue: String
    updatedSince: String
  }

  input EnrollmentFilter {
    "Program code, e.g. CCT."
    programCode: String
    status: EnrollmentStatus
    "Enrollments of this household (household-level programs)."
    householdId: ID
    "Enrollments of this person (individual-level programs)."
    individualId: ID
    updatedSince: String
  }

  enum HouseholdStatus {
    active
    inactive
    merged
    archived
  }

  enum Sex {
    male
    female
    other
    unknown
  }

  enum EnrollmentStatus {
    enrolled
    suspended
    graduated
    exited
  }

  type PageInfo @shareable {
    hasNextPage: Boolean!
    "Pass as \`after\` to read the next page; null when the page is empty."
    endCursor: String
  }

  type Household @key(fields: "id") {
    id: ID!
    "Field class identifier."
    householdNumber: String
    groupType: String!
    status: String!
    adminAreaCode: String!
    "Field class location."
    location: GeoPoint
    "Field class address."
    addressLine: String
    "Field class address."
    locality: String
    "Proxy means test score. Field class poverty_score."
    pmtScore: Float
    "Field class poverty_score."
    incomeBand: String
    dwellingType: String
    waterSource: String
    hasElectricity: Boolean
    assets: [String!]!
    memberCount: Int!
    registeredAt: String!
    updatedAt: String!
    version: Int!
    "The members, the head first, then by birth date."
    members: [Individual!]!
    "Enrollments in household-level programs; null (with an error) when your agreement does not cover the IBR."
    enrollments: [Enrollment!]
  }

  type GeoPoint {
    latitude: Float!
    longitude: Float!
  }

  type Individual @key(fields: "id") {
    id: ID!
    householdId: ID!
    household: Household!
    "DCI RelationshipTypeEnum code (SELF is the head)."
    relationshipToHead: String!
    "Field class name."
    givenName: String
    "Field class name."
    middleName: String
    "Field class name."
    familyName: String
    sex: String!
    "Field class birth_date."
    birthDate: String
    birthYear: Int
    "Field class contact."
    phone: String
    maritalStatus: String
    disability: Boolean!
    disabilityType: String
    isDeceased: Boolean!
    "Field class birth_date."
    deceasedDate: String
    consent: Consent!
    "Field class identifier."
    identifiers: [Identifier!]
    status: String!
    registeredAt: String!
    updatedAt: String!
    version: Int!
    "The person's own enrollments and their household's; null (with an error) when your agreement does not cover the IBR."
    enrollments: [Enrollment!]
  }

  type Consent {
    dataSharing: Boolean!
    contact: Boolean!
  }

  type Identifier {
    type: String!
    value: String!
  }

  type Program @key(fields: "id") {
    id: ID!
    code: String!
    name: String!
    description: String
    benefitType: String!
    "household or individual"
    targetUnit: String!
    benefitFrequency: String
    currency: String
    "Programs sharing a group are mutually exclusive."
    exclusionGroups: [String!]!
    active: Boolean!
  }

  type Enrollment @key(fields: "id") {
    id: ID!
    program: Program!
    "individual or household"
    beneficiaryType: String!
    "The beneficiary of an individual-level program, else null."
    individual: Individual
    "The beneficiary of a household-level program, else null."
    household: Household
    "Field class identifier."
    programBeneficiaryId: String
    status: String!
    statusReason: String
    enrolledAt: String!
    benefitAmount: Float
    currency: String
    paymentMethod: String
    "Field class payment_account."
    paymentAccount: String
    lastPaymentAt: String
    "Status changes, oldest first."
    history: [StatusChange!]!
    updatedAt: String!
    version: Int!
  }

  type StatusChange {
    fromStatus: String
    toStatus: String!
    reason: String
    changedAt: String!
  }

  type HouseholdConnection {
    edges: [HouseholdEdge!]!
    pageInfo: PageInfo!
  }

  type HouseholdEdge {
    cursor: String!
    node: Household!
  }

  type IndividualConnection {
    edges: [IndividualEdge!]!
    pageInfo: PageInfo!
  }

  type IndividualEdge {
    cursor: String!
    node: Individual!
  }

  type EnrollmentConnection {
    edges: [EnrollmentEdge!]!
    pageInfo: PageInfo!
  }

  type EnrollmentEdge {
    cursor: String!
    node: Enrollment!
  }
`;

export const typeDefs = parse(SDL);
