import { mkdirSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import { certificateThumbprint } from '#platform/auth/peer-certificate';
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
  type IssuedCertificate,
} from '#security/tls/issue';
import { UsageError } from './errors.ts';
import { writeOnce } from './files.ts';

/**
 * `spx certs ca|server|client`: a test CA, a server certificate for the mutual-TLS listener and client
 * certificates, written as PEM files (keys mode 0600). Pure Node: no openssl needed. For tests and
 * pilots; production certificates come from the organisation's PKI.
 */

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{1,79}$/;
const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

interface Common {
  out: string;
  days: string;
  force?: boolean;
}

export function registerCertsCommand(program: Command): void {
  const certs = program
    .command('certs')
    .description('create a test CA, server and client certificates for the mutual-TLS listener');

  withCommon(certs.command('ca'))
    .description('create a certificate authority (ca.crt, ca.key) for SPX_TLS_CLIENT_CA')
    .option('--name <common name>', 'the CA common name', 'SP Exchange test CA')
    .action(async (options: Common & { name: string }) => {
      const ca = await createCertificateAuthority(options.name, { days: daysOf(options.days) });
      const files = writePair(options, 'ca', ca);
      console.log(`CA certificate ${files.certificate}, key ${files.key} (keep the key secret)`);
      console.log(`For the gateway: SPX_TLS_CLIENT_CA=${files.certificate}`);
    });

  withCommon(certs.command('server'))
    .description('issue the server certificate of the mutual-TLS listener (server.crt, server.key)')
    .requiredOption('--ca <dir>', 'directory of the CA (made by `spx certs ca`)')
    .option('--host <names>', 'comma-separated host names and IP addresses clients connect to', '127.0.0.1')
    .action(async (options: Common & { ca: string; host: string }) => {
      const hosts = hostsOf(options.host);
      const ca = await readAuthority(options.ca);
      const files = writePair(
        options,
        'server',
        await issueServerCertificate(ca, hosts, { days: daysOf(options.days) }),
      );
      console.log(`Server certificate ${files.certificate} for ${hosts.join(', ')}, key ${files.key}`);
      console.log(`For the gateway: SPX_TLS_CERT=${files.certificate} SPX_TLS_KEY=${files.key}`);
    });

  withCommon(certs.command('client'))
    .description('issue a client certificate (<name>.crt, <name>.key) and show how to register it')
    .requiredOption('--ca <dir>', 'directory of the CA (made by `spx certs ca`)')
    .requiredOption('--name <client name>', 'the client it is for: its subject becomes CN=<name>')
    .action(async (options: Common & { ca: string; name: string }) => {
      if (!CLIENT_NAME.test(options.name)) {
        throw new UsageError('--name must be 2 to 80 letters, digits, spaces or ._- (like a client name)');
      }
      const ca = await readAuthority(options.ca);
      const issued = await issueClientCertificate(ca, options.name, { days: daysOf(options.days) });
      const files = writePair(options, options.name.replace(/ /g, '-'), issued);
      printClientHelp(options.ca, files, issued);
    });
}

function withCommon(command: Command): Command {
  return command
    .requiredOption('--out <dir>', 'directory to write the files to (created if missing)')
    .option('--days <n>', 'validity in days', '365')
    .option('--force', 'overwrite files that exist');
}

function daysOf(text: string): number {
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new UsageError('--days must be a whole number from 1 to 3650');
  }
  return days;
}

function hostsOf(text: string): string[] {
  const hosts = text
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
  if (hosts.length === 0 || !hosts.every((host) => HOST.test(host))) {
    throw new UsageError('--host must be comma-separated host names or IP addresses');
  }
  return hosts;
}

async function readAuthority(dir: string): Promise<CertificateAuthority> {
  let pems: IssuedCertificate;
  try {
    pems = {
      certificatePem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
    };
  } catch {
    throw new UsageError(
      `no CA in ${dir} (ca.crt and ca.key): create one with \`spx certs ca --out ${dir}\``,
    );
  }
  try {
    return await loadCertificateAuthority(pems);
  } catch (error) {
    throw new UsageError(`the CA in ${dir} cannot be used: ${(error as Error).message}`);
  }
}

/** Writes `<base>.crt` and `<base>.key` (0600); refuses to replace files unless --force. */
function writePair(options: Common, base: string, issued: IssuedCertificate) {
  mkdirSync(options.out, { recursive: true });
  const files = { certificate: join(options.out, `${base}.crt`), key: join(options.out, `${base}.key`) };
  writeOnce(files.key, issued.keyPem, 0o600, options.force);
  writeOnce(files.certificate, issued.certificatePem, 0o644, options.force);
  return files;
}

function printClientHelp(
  caDir: string,
  files: { certificate: string; key: string },
  issued: IssuedCertificate,
) {
  const thumbprint = certificateThumbprint(new X509Certificate(issued.certificatePem).raw);
  console.log(`Client certificate ${files.certificate}, key ${files.key}`);
  console.log(`Thumbprint (x5t#S256): ${thumbprint}`);
  console.log('Register it to its client (CLIENT_ID from GET /api/v1/clients; an admin key):');
  console.log(
    `  curl -X POST "$SPX_URL/api/v1/clients/$CLIENT_ID/certificates" -H "Authorization: Bearer $ADMIN_KEY" ` +
      `-H "Content-Type: application/json" -d '{"thumbprint": "${thumbprint}"}'`,
  );
  console.log('Then call the mutual-TLS listener with it:');
  console.log(
    `  curl --cacert ${join(caDir, 'ca.crt')} --cert ${files.certificate} --key ${files.key} "$SPX_TLS_URL/api/v1/programs"`,
  );
}
