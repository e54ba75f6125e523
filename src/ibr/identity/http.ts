import { resolveGuardedHost, systemResolve } from '#platform/outbound/address';
import { sendRequest, type Answer } from '#platform/outbound/request';
import { IdentitySystemError } from './adapter.ts';

/** Bytes of an ID system's answer read at most (a verification result, an OTP acknowledgement). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * One POST of a JSON body to the ID system, as every adapter makes it, through the gateway's one
 * outbound client (platform/outbound: the address checked is the address connected to, no redirect
 * followed, the answer size-limited). Private addresses are allowed: the operator set this URL in
 * the configuration (SPX_ID_VERIFY_URL), and a national ID system usually sits on a government
 * network; no caller can choose it. Transport failures, time-outs and non-2xx answers become
 * `IdentitySystemError`s naming what went wrong (never the body, which may hold personal data).
 * Answers the response's text, for adapters that verify a signature over it.
 */
export async function postToIdSystem(
  url: string,
  body: string,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<{ text: string; headers: Headers }> {
  let answer: Answer;
  try {
    const target = new URL(url);
    answer = await sendRequest(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: Buffer.from(body),
      },
      {
        address: await resolveGuardedHost(target, true, systemResolve),
        signal,
        // The caller's signal carries the configured time limit (SPX_ID_VERIFY_TIMEOUT_MS).
        timeoutMs: 60_000,
        maxBytes: MAX_ANSWER_BYTES,
        accept: 'application/json',
      },
    );
  } catch (error) {
    throw new IdentitySystemError(
      signal.aborted
        ? 'the ID system did not answer in time'
        : `the ID system is unreachable (${(error as Error).message})`,
    );
  }
  if (answer.statusCode < 200 || answer.statusCode >= 300) {
    throw new IdentitySystemError(`the ID system answered HTTP ${answer.statusCode}`);
  }
  return { text: answer.body.toString('utf8'), headers: headersOf(answer.headers) };
}

const headersOf = (incoming: Answer['headers']) =>
  new Headers(
    Object.entries(incoming).flatMap(([name, value]) =>
      (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v): [string, string] => [
        name,
        v,
      ]),
    ),
  );

/** The answer's JSON; an answer that is not JSON is the ID system's error. */
export function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new IdentitySystemError('the ID system answered something that is not JSON');
  }
}
