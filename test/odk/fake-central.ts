import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake ODK Central on 127.0.0.1 with the endpoints a pull uses, as Central documents them:
 * `POST /v1/sessions`, app-user keys in `/v1/key/{token}/…`, the OData `Submissions` feed of a form
 * (`$filter` on `__system/submissionDate` ge and `__system/reviewState` ne, `$orderby`, `$top`,
 * `$count`), each submission's XML, its attachment list and files. Requests are logged.
 */

export interface CentralSubmission {
  instanceId: string;
  submittedAt: string;
  xml: string;
  reviewState?: 'received' | 'approved' | 'rejected';
  attachments?: { name: string; type: string; data: Buffer }[];
}

export interface FakeCentral {
  url: string;
  email: string;
  password: string;
  appUserKey: string;
  projectId: number;
  formId: string;
  submissions: CentralSubmission[];
  requests: string[];
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const NOT_FOUND = { code: 404.1, message: 'Could not find the resource you were looking for.' };

export async function startFakeCentral(formId: string): Promise<FakeCentral> {
  const state = {
    email: 'viewer@central.example',
    password: 'correct horse',
    appUserKey: randomUUID().replace(/-/g, ''),
    projectId: 7,
    formId,
    submissions: [] as CentralSubmission[],
    requests: [] as string[],
  };
  const sessions = new Set<string>();

  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://central');
      state.requests.push(`${req.method} ${url.pathname}`);
      if (req.method === 'POST' && url.pathname === '/v1/sessions') {
        const { email, password } = JSON.parse(body || '{}') as { email?: string; password?: string };
        if (email !== state.email || password !== state.password) {
          return json(res, 401, {
            code: 401.2,
            message: 'Could not authenticate with the provided credentials.',
          });
        }
        const token = randomUUID();
        sessions.add(token);
        return json(res, 200, { token, expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
      }
      let path = url.pathname;
      const key = /^\/v1\/key\/([^/]+)(\/.*)$/.exec(path);
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      const authorised = key ? key[1] === state.appUserKey : bearer !== undefined && sessions.has(bearer);
      if (!authorised) {
        return json(res, 403, {
          code: 403.1,
          message: 'The authenticated actor does not have rights to perform that action.',
        });
      }
      if (key) {
        path = `/v1${key[2]}`;
      }
      const form = `/v1/projects/${state.projectId}/forms/${state.formId}`;
      if (path === `${form}.svc/Submissions`) {
        return json(res, 200, feed(state.submissions, url.searchParams));
      }
      const match = new RegExp(`^${form}/submissions/([^/]+?)(\\.xml|/attachments(?:/([^/]+))?)$`).exec(path);
      const submission =
        match && state.submissions.find((s) => s.instanceId === decodeURIComponent(match[1]!));
      if (!match || !submission) {
        return json(res, 404, NOT_FOUND);
      }
      if (match[2] === '.xml') {
        return res.writeHead(200, { 'content-type': 'application/xml' }).end(submission.xml);
      }
      const attachments = submission.attachments ?? [];
      if (!match[3]) {
        return json(
          res,
          200,
          attachments.map((a) => ({ name: a.name, exists: true })),
        );
      }
      const file = attachments.find((a) => a.name === decodeURIComponent(match[3]!));
      return file
        ? res.writeHead(200, { 'content-type': file.type }).end(file.data)
        : json(res, 404, NOT_FOUND);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** The OData feed: only the filters, ordering and paging a pull uses; anything else is refused. */
function feed(submissions: CentralSubmission[], params: URLSearchParams) {
  const filter = params.get('$filter') ?? '';
  const since = /__system\/submissionDate ge (\S+)/.exec(filter)?.[1];
  const notRejected = filter.includes("__system/reviewState ne 'rejected'");
  if (params.get('$orderby') !== '__system/submissionDate asc') {
    throw new Error(`unexpected $orderby ${params.get('$orderby')}`);
  }
  const rows = submissions
    .filter((s) => !since || s.submittedAt >= since)
    .filter((s) => !notRejected || s.reviewState !== 'rejected')
    .sort((a, b) => a.submittedAt.localeCompare(b.submittedAt));
  const top = Number(params.get('$top') ?? rows.length);
  return {
    '@odata.context': 'fake',
    ...(params.get('$count') === 'true' ? { '@odata.count': rows.length } : {}),
    value: rows
      .slice(0, top)
      .map((s) => ({ __id: s.instanceId, __system: { submissionDate: s.submittedAt } })),
  };
}
