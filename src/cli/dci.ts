import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { exportJWK } from 'jose';
import { parseAlgorithm, type Signable, signEnvelope } from '@spx/dci-client';
import { registerDciReceiverCommand } from './dci-receiver.ts';
import { UsageError } from './errors.ts';
import { writeOnce } from './files.ts';

/**
 * `spx dci keygen|sign|receiver`: what an integrator needs to call the DCI API from a shell: a key
 * pair (the private key stays in a file of theirs; the public JWK is what the admin registers), a
 * signed envelope of a message, to pipe into curl, and a callback endpoint to receive async answers.
 */
export function registerDciCommand(program: Command): void {
  const dci = program.command('dci').description('DCI message tools for integrators (no database needed)');

  dci
    .command('keygen')
    .description('create an Ed25519 (or RSA) key pair: writes the private key PEM, prints the public JWK')
    .requiredOption('--out <file>', 'where to write the private key (PKCS#8 PEM, mode 600)')
    .option('--algorithm <name>', 'ed25519 or rsa-sha256', 'ed25519')
    .option('--force', 'replace the file if it exists (the key registered from it stops working)')
    .action(async (options: { out: string; algorithm: string; force?: boolean }) => {
      const algorithm = parseAlgorithm(options.algorithm);
      if (!algorithm) {
        throw new UsageError('--algorithm is ed25519 or rsa-sha256');
      }
      const { publicKey, privateKey } =
        algorithm === 'ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 3072 });
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
      writeOnce(options.out, pem, 0o600, options.force);
      console.log(JSON.stringify(await exportJWK(publicKey)));
    });

  dci
    .command('sign')
    .description('sign a DCI envelope read from stdin (or --in) and print it')
    .requiredOption('--key <file>', 'private key PEM (from `spx dci keygen`)')
    .requiredOption('--key-id <id>', 'the key id registered for your client')
    .option('--in <file>', 'the envelope to sign (default: stdin)')
    .option('--fresh', 'set a new header.message_id and header.message_ts first')
    .action((options: { key: string; keyId: string; in?: string; fresh?: boolean }) => {
      const privateKey = createPrivateKey(readFileSync(options.key));
      const algorithm = privateKey.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'rsa-sha256';
      const envelope = readEnvelope(readFileSync(options.in ?? 0, 'utf8'));
      if (options.fresh) {
        Object.assign(envelope.header, { message_id: randomUUID(), message_ts: new Date().toISOString() });
      }
      const senderId = envelope.header['sender_id'];
      if (typeof senderId !== 'string' || senderId === '') {
        throw new UsageError('the envelope needs header.sender_id: it names the signer in the key id');
      }
      const kid = { senderId, keyId: options.keyId, algorithm } as const;
      console.log(JSON.stringify(signEnvelope(envelope, { kid, privateKey })));
    });

  registerDciReceiverCommand(dci);
}

function readEnvelope(text: string): Signable & { header: Record<string, unknown> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('the input is not JSON');
  }
  const header = (parsed as { header?: unknown } | null)?.header;
  if (!header || typeof header !== 'object') {
    throw new UsageError('the input is not a DCI envelope: { header, message }');
  }
  return parsed as Signable & { header: Record<string, unknown> };
}
