import { describe, expect, it } from 'vitest';
import { claimAt, mappedPermissions } from './external-token.ts';

describe("an identity provider's claims", () => {
  const payload = {
    azp: 'mis',
    scope: 'openid registry:read',
    realm_access: { roles: ['spx-integrator', 'offline_access'] },
    'https://spx.example/roles': ['jobs'],
  };

  it('are found by name, by dotted path, and by a name with dots first', () => {
    expect(claimAt(payload, 'azp')).toBe('mis');
    expect(claimAt(payload, 'realm_access.roles')).toEqual(['spx-integrator', 'offline_access']);
    expect(claimAt(payload, 'https://spx.example/roles')).toEqual(['jobs']);
    expect(claimAt(payload, 'realm_access.missing')).toBeUndefined();
    expect(claimAt(payload, 'azp.length')).toBeUndefined();
  });

  it('map roles to all the permissions of our role, or to one permission', () => {
    const permissions = mappedPermissions(
      { permissions_claim: 'realm_access.roles', permissions_map: { 'spx-integrator': 'integrator' } },
      payload,
    );
    expect([...permissions].sort()).toEqual(['jobs:read', 'registry:read']);
    const one = mappedPermissions(
      { permissions_claim: 'https://spx.example/roles', permissions_map: { jobs: 'jobs:read' } },
      payload,
    );
    expect([...one]).toEqual(['jobs:read']);
  });

  it('without a map, count only values that are our permission names, not role names', () => {
    expect([...mappedPermissions({ permissions_claim: 'scope', permissions_map: {} }, payload)]).toEqual([
      'registry:read',
    ]);
    const roleNamed = { scope: 'admin integrator' };
    expect(mappedPermissions({ permissions_claim: 'scope', permissions_map: {} }, roleNamed).size).toBe(0);
  });

  it('grant nothing for values the map does not name, inherited names included', () => {
    const tricky = { roles: ['__proto__', 'constructor', 'toString', 'admin'] };
    expect(
      mappedPermissions({ permissions_claim: 'roles', permissions_map: { x: 'admin' } }, tricky).size,
    ).toBe(0);
    expect(mappedPermissions({ permissions_claim: 'roles', permissions_map: {} }, { roles: 42 }).size).toBe(
      0,
    );
  });
});
