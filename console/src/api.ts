/**
 * Calls to the gateway's admin API with the console session cookie; changes carry the session's
 * CSRF token. Errors keep the API's problem details (RFC 9457) so forms can show them by field.
 */

export interface FieldError {
  pointer: string;
  detail: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string | undefined,
    readonly errors: FieldError[],
  ) {
    super(detail ?? title);
  }

  /** The message for a form field (`/name`, `/purposes/0` → that field's error), if the API named it. */
  forField(field: string): string | undefined {
    return this.errors.find(
      (e) => e.pointer === field || e.pointer === `/${field}` || e.pointer.startsWith(`/${field}/`),
    )?.detail;
  }
}

let csrfToken: string | undefined;
export const setCsrfToken = (token: string | undefined) => {
  csrfToken = token;
};

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(method !== 'GET' && csrfToken ? { 'x-csrf-token': csrfToken } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 204) {
    return undefined as T;
  }
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    throw new ApiError(
      response.status,
      String(json['title'] ?? response.statusText),
      typeof json['detail'] === 'string' ? json['detail'] : undefined,
      Array.isArray(json['errors']) ? (json['errors'] as FieldError[]) : [],
    );
  }
  return json as T;
}

export interface Session {
  client: { id: string; name: string; role: string };
  permissions: string[];
  csrf_token: string;
  expires_at: string;
}

export interface Client {
  id: string;
  name: string;
  role: string;
  description: string | null;
  created_at: string;
  disabled_at: string | null;
}

/** A client's policy (data sharing agreement), as GET/PUT /api/v1/clients/{id}/policy answer it. */
export interface Policy {
  agreement_ref: string;
  description: string | null;
  operations: string[] | null;
  registries: string[] | null;
  hidden_fields: string[];
  purposes: string[] | null;
  area_codes: string[] | null;
  rate_limit: number | null;
  daily_quota: number | null;
  valid_from: string | null;
  valid_until: string | null;
}
