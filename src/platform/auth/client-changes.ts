/**
 * Tells the caches of this gateway that something about a client changed (a key revoked, a policy or
 * setting saved), so that the next request reads it afresh. Every route that changes what a client
 * may do calls `changed`; caches subscribe with `onChange`.
 */
export class ClientChanges {
  readonly #listeners = new Set<(clientId: string) => void>();

  onChange(listener: (clientId: string) => void): void {
    this.#listeners.add(listener);
  }

  changed(clientId: string): void {
    this.#listeners.forEach((listener) => listener(clientId));
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Client changes on this gateway, for the caches that must drop what they hold (access control). */
    clientChanges: ClientChanges;
  }
}
