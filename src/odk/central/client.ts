import {
  AddressRefusedError,
  parseHttpUrl,
  resolveGuardedHost,
  type Resolve,
} from '#platform/outbound/address';
import { sendRequest, type Answer } from '#platform/outbound/request';

/**
 * The parts of ODK Central's REST and OData API a pull uses (https://docs.getodk.org/central-api/):
 * a session (`POST /v1/sessions`) or an app user's key (`/v1/key/{token}/…`), the submissions of a
 * form from a date on (OData `$filter` on `__system/submissionDate`, oldest first, a page at a time),
 * and each submission's XML and attachments. Every call goes through the outbound SSRF guard (the
 * host's addresses are checked once, then every call of the pull connects to the checked one; no
 * redirect is followed). Failures become CentralError with the HTTP status or the network error
 * code: never the credentials, never text of Central's answer (a foreign service's words are not
 * ours to store or show).
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
  allow_private_addresses: boolean;
}

/** How the pull reaches Central: the DNS resolver (tests may pin it) and the limits of one call. */
export interface CentralCalls {
  resolve: Resolve;
  timeoutMs: number;
  /** Bytes of one answer at most (a submission's XML, an attachment). */
  maxBytes: number;
}

export interface SubmissionRef {
  instanceId: string;
  submittedAt: string;
}

export interface CentralClient {
  /** Submissions submitted at or after `since`, oldest first, at most `top`; and how many there are. */
  submissionsSince(since: Date | null, top: number): Promise<{ items: SubmissionRef[]; count: number }>;
  /** The submission's XML, as the bytes Central sent. */
  submissionXml(instanceId: string): Promise<Buffer>;
  attachments(instanceId: string): Promise<{ name: string; contentType: string; data: Buffer }[]>;
}

/** What a status says about the failure, in our words. */
function refusal(status: number): CentralError {
  const hint =
    status === 401 || status === 403
      ? ' (check the credentials and the role on the project)'
      : status >= 300 && status < 400
        ? ' (a redirect: redirects are not followed, set base_url to where Central answers)'
        : '';
  return new CentralError(`ODK Central answered HTTP ${status}${hint}`, status >= 500);
}

const jsonOf = <T>(answer: Answer): T => {
  try {
    return JSON.parse(answer.body.toString('utf8')) as T;
  } catch {
    throw new CentralError('ODK Central answered something that is not JSON');
  }
};

export async function connectCentral(
  source: CentralSource,
  secret: string,
  signal: AbortSignal,
  calls: CentralCalls,
): Promise<CentralClient> {
  const root = source.base_url.replace(/\/+$/, '');
  const base = parseHttpUrl(root);
  if (!base) {
    throw new CentralError('base_url is not an http(s) URL');
  }
  let address: { address: string; family: number };
  try {
    address = await resolveGuardedHost(base, source.allow_private_addresses, calls.resolve);
  } catch (error) {
    throw error instanceof AddressRefusedError
      ? new CentralError(`${error.message}: refused (allow_private_addresses is off)`)
      : new CentralError((error as Error).message, true);
  }
  const call = async (path: string, init: { body?: unknown; token?: string | undefined } = {}) => {
    let answer: Answer;
    try {
      answer = await sendRequest(
        new URL(`${root}${path}`),
        {
          method: init.body === undefined ? 'GET' : 'POST',
          headers: {
            ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
            ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(init.body === undefined ? {} : { body: Buffer.from(JSON.stringify(init.body)) }),
        },
        { address, signal, timeoutMs: calls.timeoutMs, maxBytes: calls.maxBytes, accept: '*/*' },
      );
    } catch (error) {
      throw new CentralError(
        signal.aborted ? 'the pull was stopped' : `ODK Central is unreachable (${(error as Error).message})`,
        true,
      );
    }
    if (answer.statusCode < 200 || answer.statusCode >= 300) {
      throw refusal(answer.statusCode);
    }
    return answer;
  };

  let prefix = '/v1';
  let token: string | undefined;
  if (source.auth_kind === 'session') {
    const session = await call('/v1/sessions', { body: { email: source.email, password: secret } });
    const given = jsonOf<{ token?: unknown }>(session).token;
    if (typeof given !== 'string' || !given) {
      throw new CentralError('ODK Central gave no session token');
    }
    token = given;
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
      const answer = jsonOf<{
        value?: { __id?: unknown; __system?: { submissionDate?: unknown } }[];
        '@odata.count'?: number;
      }>(await call(`${form}.svc/Submissions?${query}`, { token }));
      const items = (Array.isArray(answer.value) ? answer.value : []).map(submissionRef);
      return { items, count: answer['@odata.count'] ?? items.length };
    },
    async submissionXml(instanceId) {
      return (await call(`${submission(instanceId)}.xml`, { token })).body;
    },
    async attachments(instanceId) {
      const list = jsonOf<{ name: string; exists: boolean }[]>(
        await call(`${submission(instanceId)}/attachments`, { token }),
      );
      const files = [];
      for (const { name } of (Array.isArray(list) ? list : []).filter((file) => file.exists)) {
        const answer = await call(`${submission(instanceId)}/attachments/${encodeURIComponent(name)}`, {
          token,
        });
        const type = answer.headers['content-type'];
        files.push({ name, contentType: type ?? 'application/octet-stream', data: answer.body });
      }
      return files;
    },
  };
}

/** A row of the OData feed, or a CentralError when it is not one. */
function submissionRef(row: { __id?: unknown; __system?: { submissionDate?: unknown } }): SubmissionRef {
  const instanceId = row.__id;
  const submittedAt = row.__system?.submissionDate;
  if (typeof instanceId !== 'string' || typeof submittedAt !== 'string' || isNaN(Date.parse(submittedAt))) {
    throw new CentralError('ODK Central listed a submission without an id or a submission date');
  }
  return { instanceId, submittedAt };
}
