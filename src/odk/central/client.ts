/**
 * The parts of ODK Central's REST and OData API a pull uses (https://docs.getodk.org/central-api/):
 * a session (`POST /v1/sessions`) or an app user's key (`/v1/key/{token}/…`), the submissions of a
 * form from a date on (OData `$filter` on `__system/submissionDate`, oldest first, a page at a time),
 * and each submission's XML and attachments. Failures become CentralError with what Central said,
 * never the credentials.
 */

export class CentralError extends Error {
  override name = 'CentralError';

  /** `retryable`: another attempt later may succeed (unreachable, a 5xx); not so for a refusal. */
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

export interface CentralSource {
  base_url: string;
  project_id: number;
  form_id: string;
  auth_kind: 'session' | 'app_user';
  email: string | null;
}

export interface SubmissionRef {
  instanceId: string;
  submittedAt: string;
}

export interface CentralClient {
  /** Submissions submitted at or after `since`, oldest first, at most `top`; and how many there are. */
  submissionsSince(since: Date | null, top: number): Promise<{ items: SubmissionRef[]; count: number }>;
  submissionXml(instanceId: string): Promise<string>;
  attachments(instanceId: string): Promise<{ name: string; contentType: string; data: Buffer }[]>;
}

export async function connectCentral(
  source: CentralSource,
  secret: string,
  signal: AbortSignal,
): Promise<CentralClient> {
  const base = source.base_url.replace(/\/+$/, '');
  const call = async (path: string, init: RequestInit = {}, token?: string): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        ...init,
        signal,
        redirect: 'manual',
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
      });
    } catch (error) {
      throw new CentralError(
        signal.aborted ? 'the pull was stopped' : `ODK Central is unreachable (${(error as Error).message})`,
        true,
      );
    }
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as { message?: string };
      throw new CentralError(
        `ODK Central answered HTTP ${response.status}${problem.message ? `: ${problem.message}` : ''}` +
          (response.status === 401 || response.status === 403
            ? ' (check the credentials and the role on the project)'
            : ''),
        response.status >= 500,
      );
    }
    return response;
  };

  let prefix = '/v1';
  let token: string | undefined;
  if (source.auth_kind === 'session') {
    const session = await call('/v1/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: source.email, password: secret }),
    });
    token = ((await session.json()) as { token?: string }).token;
    if (!token) {
      throw new CentralError('ODK Central gave no session token');
    }
  } else {
    prefix = `/v1/key/${encodeURIComponent(secret)}`;
  }
  const form = `${prefix}/projects/${source.project_id}/forms/${encodeURIComponent(source.form_id)}`;
  const submission = (instanceId: string) => `${form}/submissions/${encodeURIComponent(instanceId)}`;

  return {
    async submissionsSince(since, top) {
      const filters = ["__system/reviewState ne 'rejected'"];
      if (since) {
        filters.unshift(`__system/submissionDate ge ${since.toISOString()}`);
      }
      const query = new URLSearchParams({
        $filter: filters.join(' and '),
        $orderby: '__system/submissionDate asc',
        $top: String(top),
        $count: 'true',
        $select: '__id,__system/submissionDate',
      });
      const answer = (await (await call(`${form}.svc/Submissions?${query}`, {}, token)).json()) as {
        value?: { __id: string; __system: { submissionDate: string } }[];
        '@odata.count'?: number;
      };
      const items = (answer.value ?? []).map((row) => ({
        instanceId: row.__id,
        submittedAt: row.__system.submissionDate,
      }));
      return { items, count: answer['@odata.count'] ?? items.length };
    },
    async submissionXml(instanceId) {
      return (await call(`${submission(instanceId)}.xml`, {}, token)).text();
    },
    async attachments(instanceId) {
      const list = (await (await call(`${submission(instanceId)}/attachments`, {}, token)).json()) as {
        name: string;
        exists: boolean;
      }[];
      const files = [];
      for (const { name } of list.filter((file) => file.exists)) {
        const response = await call(
          `${submission(instanceId)}/attachments/${encodeURIComponent(name)}`,
          {},
          token,
        );
        files.push({
          name,
          contentType: response.headers.get('content-type') ?? 'application/octet-stream',
          data: Buffer.from(await response.arrayBuffer()),
        });
      }
      return files;
    },
  };
}
