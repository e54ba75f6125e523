import { IdentitySystemError } from './adapter.ts';

/**
 * One POST of a JSON body to the ID system, as every adapter makes it: transport failures, time-outs
 * and non-2xx answers become `IdentitySystemError`s naming what went wrong (never the body, which may
 * hold personal data). Answers the response's text, for adapters that verify a signature over it.
 */
export async function postToIdSystem(
  url: string,
  body: string,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<{ text: string; headers: Headers }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body,
      signal,
      redirect: 'manual',
    });
  } catch (error) {
    throw new IdentitySystemError(
      signal.aborted
        ? 'the ID system did not answer in time'
        : `the ID system is unreachable (${(error as Error).message})`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new IdentitySystemError(`the ID system answered HTTP ${response.status}`);
  }
  return { text: await response.text(), headers: response.headers };
}

/** The answer's JSON; an answer that is not JSON is the ID system's error. */
export function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new IdentitySystemError('the ID system answered something that is not JSON');
  }
}
