import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';

/**
 * Sign-ins sent to the OpenID provider and not back yet (console_oidc_logins), one small query each.
 * Only hashes of the state and of the browser binding are stored, so a copy of the table cannot
 * answer for a browser.
 */

export interface PendingLogin {
  stateHash: Buffer;
  bindingHash: Buffer;
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
  expiresAt: Date;
}

export const insertLogin = (db: Kysely<DB>, login: PendingLogin) =>
  db
    .insertInto('console_oidc_logins')
    .values({
      state_hash: login.stateHash,
      binding_hash: login.bindingHash,
      code_verifier: login.codeVerifier,
      nonce: login.nonce,
      redirect_uri: login.redirectUri,
      expires_at: login.expiresAt,
    })
    .execute();

/** Takes the login of this state out of the table (one use: a second callback finds nothing). */
export async function takeLogin(db: Kysely<DB>, stateHash: Buffer): Promise<PendingLogin | undefined> {
  const row = await db
    .deleteFrom('console_oidc_logins')
    .where('state_hash', '=', stateHash)
    .returningAll()
    .executeTakeFirst();
  return (
    row && {
      stateHash: row.state_hash,
      bindingHash: row.binding_hash,
      codeVerifier: row.code_verifier,
      nonce: row.nonce,
      redirectUri: row.redirect_uri,
      expiresAt: row.expires_at,
    }
  );
}

/** Forgets logins whose browser never came back (run when a new one starts: the table stays small). */
export const purgeExpiredLogins = (db: Kysely<DB>) =>
  db
    .deleteFrom('console_oidc_logins')
    .where('expires_at', '<', sql<Date>`now()`)
    .execute();
