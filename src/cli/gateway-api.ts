import { CommandError, UsageError } from './errors.ts';
import type { LocalGateway } from './local-gateway.ts';

/** The running gateway's admin API, called with its local key (see local-gateway.ts). */
export interface GatewayApi {
  readonly gateway: LocalGateway;
  /**
   * A JSON call. Timestamps (`*_at` fields) come back as Dates, as the database functions give them;
   * a refusal (4xx) becomes a one-line UsageError with the problem's detail, as on the database.
   */
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** A GET answered with a body to stream (a download); refusals as for `call`. */
  download(path: string): Promise<Response>;
}

/** JSON calls are admin operations: a minute is ample, and a hung gateway must not hang the shell. */
const CALL_TIMEOUT_MS = 60_000;

export function gatewayApi(gateway: LocalGateway): GatewayApi {
  const send = async (method: string, path: string, body?: unknown, signal?: AbortSignal) => {
    let response: Response;
    try {
      response = await fetch(new URL(path, gateway.url), {
        method,
        headers: {
          authorization: `Bearer ${gateway.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: signal ?? null,
      });
    } catch (error) {
      throw new CommandError(
        `cannot reach the gateway at ${gateway.url} (pid ${gateway.pid}): ${causeOf(error)}`,
      );
    }
    if (!response.ok) {
      throw await refusal(gateway, response);
    }
    return response;
  };
  return {
    gateway,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await send(method, path, body, AbortSignal.timeout(CALL_TIMEOUT_MS));
      return JSON.parse(await response.text(), withDates) as T;
    },
    download: (path) => send('GET', path),
  };
}

const withDates = (key: string, value: unknown): unknown =>
  key.endsWith('_at') && typeof value === 'string' ? new Date(value) : value;

async function refusal(gateway: LocalGateway, response: Response): Promise<Error> {
  const problem = (await response.json().catch(() => ({}))) as {
    title?: string;
    detail?: string;
    errors?: { pointer: string; detail: string }[];
  };
  const fields = problem.errors?.map((e) => `${e.pointer} ${e.detail}`).join('; ');
  const said = [problem.detail ?? problem.title ?? response.statusText, fields].filter(Boolean).join(': ');
  if (response.status === 401) {
    return new CommandError(
      `the gateway at ${gateway.url} refused spx's local key (${said}): restart the gateway to issue a new one`,
    );
  }
  return response.status < 500
    ? new UsageError(said)
    : new CommandError(`the gateway at ${gateway.url} failed (${response.status}): ${said}`);
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}
