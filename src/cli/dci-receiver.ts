import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DciClient, startCallbackReceiver, summaryOf, type ReceivedCallback } from '@spx/dci-client';
import { CommandError, UsageError } from './errors.ts';

interface ReceiverOptions {
  port: string;
  gateway: string;
  decryptKey?: string;
  json?: boolean;
}

/**
 * `spx dci receiver`: a DCI client's callback endpoint on 127.0.0.1, to try the async API on one
 * machine (docs/dci/async-local.md): prints each callback and whether its signature verifies
 * against the gateway's /.well-known/jwks.json.
 */
export function registerDciReceiverCommand(dci: Command): void {
  dci
    .command('receiver')
    .description('listen on 127.0.0.1 for DCI callbacks: verify each one and print it')
    .option('--port <n>', 'port to listen on (0: any free port)', '9090')
    .option('--gateway <url>', 'the gateway whose published keys sign the callbacks', 'http://127.0.0.1:8080')
    .option(
      '--decrypt-key <file>',
      'private key PEM of your registered encryption key, for encrypted callbacks',
    )
    .option('--json', 'print each callback as one JSON line, with its (decrypted) message')
    .action(async (options: ReceiverOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError('--port must be a whole number from 0 to 65535');
      }
      const jwks = await publishedKeys(options.gateway);
      // Only receive() is used: the client never sends, so it needs no API key or sender id.
      const client = new DciClient({
        baseUrl: options.gateway,
        apiKey: '',
        senderId: '',
        registryKeys: jwks,
        ...(options.decryptKey ? { decryptionKey: createPrivateKey(readFileSync(options.decryptKey)) } : {}),
      });
      const print = options.json ? printJson : printLine;
      const receiver = await startCallbackReceiver({ port, client, onCallback: print }).catch(
        (error: unknown) => {
          throw new CommandError(`cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
        },
      );
      console.log(`listening on ${receiver.url}, verifying with ${jwks} (Ctrl-C stops)`);
      const stop = () => void receiver.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

/** The gateway's JWKS URL, fetched once now so that a wrong --gateway is said at once. */
async function publishedKeys(gateway: string): Promise<string> {
  let url: URL;
  try {
    url = new URL('/.well-known/jwks.json', gateway);
  } catch {
    throw new UsageError('--gateway must be a URL, such as http://127.0.0.1:8080');
  }
  const response = await fetch(url).catch(() => undefined);
  if (!response?.ok) {
    throw new CommandError(`cannot read the gateway's keys at ${url.href}: is the gateway running there?`);
  }
  return url.href;
}

function printLine(callback: ReceivedCallback): void {
  const verified = callback.refused ? `verified NO (${callback.refused})` : 'verified yes';
  const summary = callback.refused ? '' : `  ${summaryOf(callback.envelope)}`;
  console.log(
    `${new Date().toISOString()}  POST ${callback.path}  ${callback.action ?? '-'}  message ${callback.messageId ?? '-'}  ${verified}${summary}`,
  );
}

function printJson(callback: ReceivedCallback): void {
  const { path, messageId, action, refused, envelope } = callback;
  console.log(
    JSON.stringify({
      at: new Date().toISOString(),
      path,
      message_id: messageId,
      action,
      verified: refused === undefined,
      refused,
      envelope,
    }),
  );
}
