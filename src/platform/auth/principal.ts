import type { FieldClass, Permission, Role } from './roles.ts';
import { roleDefinitions } from './roles.ts';

/** How the caller proved who it is. */
export type AuthMethod = 'api_key' | 'access_token' | 'client_certificate';

/** Who is calling, as established by authentication, and what they may see. */
export interface Principal {
  clientId: string;
  clientName: string;
  role: Role;
  /**
   * The lasting credential used: the API key's id, the OAuth credential's id (for an access token), the
   * client certificate registration's id. Stored with DCI messages and subscriptions (stored-credential.ts).
   */
  keyId: string;
  authMethod: AuthMethod;
  /** The key's scopes: never wider than the role's permissions. */
  scopes: ReadonlySet<Permission>;
  hiddenFields: ReadonlySet<FieldClass>;
  /**
   * Admin areas whose records the caller may see, a code covering the areas below it (the client's
   * data sharing agreement, platform/policy); absent: every area. Applied by the registry queries.
   */
  areaScope?: readonly string[];
  /** Purposes the caller may state (its data sharing agreement); absent: any, or none. */
  purposes?: readonly string[];
}

export function principalFor(
  client: { id: string; name: string; role: Role },
  key: { id: string; scopes: string[] },
  authMethod: AuthMethod = 'api_key',
): Principal {
  const role = roleDefinitions[client.role];
  const allowed = new Set<Permission>(role.permissions);
  return {
    clientId: client.id,
    clientName: client.name,
    role: client.role,
    keyId: key.id,
    authMethod,
    scopes: new Set(key.scopes.filter((s): s is Permission => allowed.has(s as Permission))),
    hiddenFields: new Set(role.hiddenFields),
  };
}

/** True when the principal may see fields of this class. */
export const maySee = (principal: Principal, fieldClass: FieldClass | undefined): boolean =>
  fieldClass === undefined || !principal.hiddenFields.has(fieldClass);
