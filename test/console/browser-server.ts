import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserServer } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it): never a downloaded browser. */
export const CHROMIUM = process.env['SPX_CHROMIUM'] ?? '/usr/bin/chromium';

// The machine's network is closed: no background connections, updates or sync.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserBroker {
  /** GET it for the WebSocket endpoint of the run's Chromium (playwright's `chromium.connect`). */
  url: string;
  close(): Promise<void>;
}

/**
 * One Chromium for the whole run (issue 21): the global setup serves this small endpoint, the first
 * browser test file that asks starts the browser, every file connects to it and works in browser
 * contexts of its own, and the end of the run closes it. A run without browser tests starts none.
 */
export async function browserBroker(): Promise<BrowserBroker> {
  let launched: Promise<BrowserServer> | undefined;
  const server = createServer((_request, response) => {
    launched ??= chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    launched.then(
      (browser) => response.end(browser.wsEndpoint()),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.close();
      await (await launched)?.close();
    },
  };
}
