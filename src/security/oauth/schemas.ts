import { Type, type Static } from '@sinclair/typebox';
import { PERMISSIONS, ROLES } from '#platform/auth/roles';
import { CREDENTIAL_KINDS, type CredentialRecord } from './credentials.ts';
import type { ProviderRecord } from './providers.ts';
import { PublicJwk } from '#platform/http/jwks-routes';
import { StringEnum } from '#platform/http/kit';

/** Schemas of the OAuth admin API (validation, types and OpenAPI from one source). */

const DateTime = Type.String({ format: 'date-time' });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);
const Scopes = Type.Array(StringEnum(PERMISSIONS), {
  uniqueItems: true,
  minItems: 1,
  description: "The most a token may carry; default: the role's permissions",
});
const Description = Type.String({ maxLength: 500 });
/** A claim name, or a dotted path into nested claims (`realm_access.roles`). */
const ClaimPath = Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,100}$' });
const HttpUrl = Type.String({ minLength: 1, maxLength: 1000, pattern: '^https?://' });

export const KEY_ID_PATTERN = '^[A-Za-z0-9._~:-]{1,100}$';

export const Credential = Type.Object({
  id: Type.String({ format: 'uuid' }),
  client_id: Type.String({ format: 'uuid', description: 'The OAuth client_id' }),
  kind: StringEnum(CREDENTIAL_KINDS),
  key_id: Type.Union([Type.String(), Type.Null()]),
  jwk: Type.Union([PublicJwk, Type.Null()]),
  jwks_uri: Type.Union([Type.String(), Type.Null()]),
  allow_private_addresses: Type.Boolean(),
  provider_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  external_id: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String()),
  description: Type.Union([Type.String(), Type.Null()]),
  created_at: DateTime,
  expires_at: NullableDateTime,
  revoked_at: NullableDateTime,
});

export const NewSecret = Type.Object({
  ...Credential.properties,
  client_secret: Type.String({
    description: 'The client secret. Shown only in this response: store it now.',
  }),
});

export const SecretInput = Type.Object(
  {
    scopes: Type.Optional(Scopes),
    expires_in_days: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3650, description: 'Default: SPX_API_KEY_TTL_DAYS' }),
    ),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);

export const KeyInput = Type.Object(
  {
    jwk: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        maxProperties: 30,
        description: 'The public key (Ed25519, P-256 or RSA of 2048 bits or more); never a private key',
      }),
    ),
    jwks_uri: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1000, description: "Or the client's JWKS URL (https)" }),
    ),
    key_id: Type.Optional(
      Type.String({
        pattern: KEY_ID_PATTERN,
        description: "Default: the JWK's kid, else its RFC 7638 thumbprint",
      }),
    ),
    allow_private_addresses: Type.Optional(
      Type.Boolean({ description: 'The JWKS URL may resolve to private addresses (and be http)' }),
    ),
    scopes: Type.Optional(Scopes),
    expires_at: Type.Optional(DateTime),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);

export const IdentityInput = Type.Object(
  {
    provider_id: Type.String({ format: 'uuid' }),
    external_id: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "The value of the provider's client claim (e.g. azp) in the client's tokens",
    }),
    scopes: Type.Optional(Scopes),
    expires_at: Type.Optional(DateTime),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);

export const Provider = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  issuer: Type.String(),
  jwks_uri: Type.String(),
  audience: Type.String(),
  client_claim: Type.String(),
  permissions_claim: Type.String(),
  permissions_map: Type.Record(Type.String(), Type.String()),
  allow_private_addresses: Type.Boolean(),
  created_at: DateTime,
  updated_at: DateTime,
  disabled_at: NullableDateTime,
});

export const ProviderInput = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]{1,79}$' }),
    issuer: Type.String({
      ...HttpUrl,
      description: 'The iss of its tokens, exactly (e.g. https://idp.example.org/realms/spx)',
    }),
    jwks_uri: Type.String({ ...HttpUrl, description: 'Where its signing keys are published (https)' }),
    audience: Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'The aud its tokens for this gateway carry (keep it specific to the gateway)',
    }),
    client_claim: Type.Optional(
      Type.String({ ...ClaimPath, description: 'The claim naming the client (default azp)' }),
    ),
    permissions_claim: Type.Optional(
      Type.String({
        ...ClaimPath,
        description: 'The claim holding roles or scopes, e.g. scope or realm_access.roles (default scope)',
      }),
    ),
    permissions_map: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 200 }), StringEnum([...ROLES, ...PERMISSIONS]), {
        maxProperties: 100,
        description:
          'Provider value -> one of our roles (all its permissions) or permissions; empty: values are our permission names',
      }),
    ),
    allow_private_addresses: Type.Optional(
      Type.Boolean({ description: 'The JWKS URL may resolve to private addresses (and be http)' }),
    ),
  },
  { additionalProperties: false },
);

export const CredentialParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  credentialId: Type.String({ format: 'uuid' }),
});

export const credentialJson = (c: CredentialRecord): Static<typeof Credential> => ({
  id: c.id,
  client_id: c.client_id,
  kind: c.kind,
  key_id: c.key_id,
  jwk: c.public_jwk as Static<typeof PublicJwk> | null,
  jwks_uri: c.jwks_uri,
  allow_private_addresses: c.allow_private_addresses,
  provider_id: c.provider_id,
  external_id: c.external_id,
  scopes: c.scopes,
  description: c.description,
  created_at: c.created_at.toISOString(),
  expires_at: c.expires_at?.toISOString() ?? null,
  revoked_at: c.revoked_at?.toISOString() ?? null,
});

export const providerJson = (p: ProviderRecord): Static<typeof Provider> => ({
  ...p,
  created_at: p.created_at.toISOString(),
  updated_at: p.updated_at.toISOString(),
  disabled_at: p.disabled_at?.toISOString() ?? null,
});
