import 'reflect-metadata';
import {
  constants,
  createDecipheriv,
  createHash,
  privateDecrypt,
  randomInt,
  X509Certificate,
  webcrypto,
  KeyObject,
} from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { CompactSign, flattenedVerify } from 'jose';

/**
 * A fake MOSIP ID Authentication service on 127.0.0.1, speaking IDA 1.2's auth and OTP APIs as the
 * partner SDKs use them: it checks the partner path (license key, partner id, API key), the detached
 * JWS `signature` header against the registered partner certificate, the certificate thumbprint,
 * decrypts the session key and identity block, checks `requestHMAC`, and signs its answers
 * (`response-signature`). People are looked up by UIN; OTPs it "sends" are kept in `sentOtps`.
 */

export interface IdaPerson {
  name: string;
  dob: string;
  gender: string;
  phone: string;
}

export interface FakeIda {
  baseUrl: string;
  /** The SPX_ID_VERIFY_MOSIP settings that reach this fake (files under `dir`). */
  settings: Record<string, string>;
  people: Map<string, IdaPerson>;
  /** transactionID → OTP "sent by SMS". */
  sentOtps: Map<string, string>;
  /** Requests whose protocol checks failed, with the reason (none expected). */
  protocolErrors: string[];
  calls: number;
  /** `ok`; `down` answers HTTP 500; `forged` signs answers with a key that is not IDA's. */
  mode: 'ok' | 'down' | 'forged';
  close(): Promise<void>;
}

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
} as const;

async function selfSigned(name: string) {
  const keys = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    keys,
    signingAlgorithm: RSA,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
  });
  return {
    pem: certificate.toString('pem'),
    key: KeyObject.from(keys.privateKey),
    x509: new X509Certificate(certificate.toString('pem')),
  };
}

const partner = { id: 'spx-partner', license: 'misp-LK-1', apiKey: 'api-key-1' };

function open(key: Buffer, sealed: string): string {
  const bytes = Buffer.from(sealed, 'base64url');
  const iv = bytes.subarray(bytes.length - 12);
  const tag = bytes.subarray(bytes.length - 28, bytes.length - 12);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 28)), decipher.final()]).toString();
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
  });

export async function startFakeIda(dir: string): Promise<FakeIda> {
  const [ida, signing, ours, forger] = await Promise.all(
    ['IDA', 'IDA signing', 'SP Exchange partner', 'Not IDA'].map(selfSigned),
  );
  const files = {
    ida_certificate: join(dir, 'ida.crt'),
    ida_signing_certificate: join(dir, 'ida-signing.crt'),
    partner_key: join(dir, 'partner.key'),
    partner_certificate: join(dir, 'partner.crt'),
  };
  writeFileSync(files.ida_certificate, ida!.pem);
  writeFileSync(files.ida_signing_certificate, signing!.pem);
  writeFileSync(files.partner_key, ours!.key.export({ type: 'pkcs8', format: 'pem' }).toString());
  writeFileSync(files.partner_certificate, ours!.pem);

  const state: Omit<FakeIda, 'baseUrl' | 'settings' | 'close'> = {
    people: new Map(),
    sentOtps: new Map(),
    protocolErrors: [],
    calls: 0,
    mode: 'ok',
  };

  const checkSignature = async (body: string, header: string | undefined) => {
    const [protectedHeader, payload, signature] = (header ?? '').split('.');
    if (payload !== '') {
      throw new Error('the signature is not a detached JWS');
    }
    const { protectedHeader: jws } = await flattenedVerify(
      {
        protected: protectedHeader!,
        payload: Buffer.from(body).toString('base64url'),
        signature: signature!,
      },
      ours!.x509.publicKey,
    );
    if (jws?.alg !== 'RS256' || jws.x5c?.[0] !== ours!.x509.raw.toString('base64')) {
      throw new Error('not RS256 with the partner certificate in x5c');
    }
  };

  const identityBlock = (request: Record<string, string>) => {
    if (request['thumbprint'] !== createHash('sha256').update(ida!.x509.raw).digest('base64url')) {
      throw new Error('the thumbprint names another certificate');
    }
    const sessionKey = privateDecrypt(
      { key: ida!.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from(request['requestSessionKey']!, 'base64url'),
    );
    const text = open(sessionKey, request['request']!);
    if (
      open(sessionKey, request['requestHMAC']!) !==
      createHash('sha256').update(text).digest('hex').toUpperCase()
    ) {
      throw new Error('requestHMAC does not match the request block');
    }
    return JSON.parse(text) as {
      otp?: string;
      demographics?: { name: { value: string }[]; dob?: string; gender?: { value: string }[] };
    };
  };

  const authenticate = (request: Record<string, string>, block: ReturnType<typeof identityBlock>) => {
    const person = state.people.get(request['individualId']!);
    if (!person) {
      return [{ errorCode: 'IDA-MLC-018', errorMessage: 'UIN not available in database' }];
    }
    if (block.otp !== undefined) {
      const sent = state.sentOtps.get(request['transactionID']!);
      return sent === block.otp
        ? []
        : [{ errorCode: 'IDA-OTA-004', errorMessage: 'OTP provided is invalid' }];
    }
    const demo = block.demographics;
    const mismatch = !demo
      ? 'demographics'
      : demo.name[0]?.value !== person.name
        ? 'name'
        : demo.dob !== person.dob
          ? 'dob'
          : demo.gender && demo.gender[0]?.value !== person.gender
            ? 'gender'
            : null;
    return mismatch
      ? [{ errorCode: 'IDA-DEA-001', errorMessage: `Demographic data ${mismatch} in eng did not match` }]
      : [];
  };

  const handle = async (operation: string, request: Record<string, string>) => {
    if (operation === 'otp') {
      const person = state.people.get(request['individualId']!);
      if (!person) {
        return { errors: [{ errorCode: 'IDA-MLC-018', errorMessage: 'UIN not available in database' }] };
      }
      const otp = String(randomInt(100_000, 1_000_000));
      state.sentOtps.set(request['transactionID']!, otp);
      return {
        response: { maskedMobile: `XXXXXX${person.phone.slice(-4)}`, maskedEmail: null },
        errors: null,
      };
    }
    const errors = authenticate(request, identityBlock(request));
    return {
      response: { authStatus: errors.length === 0, authToken: errors.length === 0 ? 'token-1' : null },
      errors: errors.length ? errors : null,
    };
  };

  const server = createServer((req, res) => {
    state.calls += 1;
    void readBody(req).then(async (body) => {
      if (state.mode === 'down') {
        res.writeHead(500).end();
        return;
      }
      const match = /^\/idauthentication\/v1\/(auth|otp)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(req.url ?? '');
      const request = JSON.parse(body) as Record<string, string>;
      let answer: object;
      if (!match || match[2] !== partner.license || match[3] !== partner.id || match[4] !== partner.apiKey) {
        answer = { errors: [{ errorCode: 'IDA-MPA-001', errorMessage: 'Partner is not registered' }] };
      } else {
        try {
          await checkSignature(body, req.headers['signature'] as string | undefined);
          answer = await handle(match[1]!, request);
        } catch (error) {
          state.protocolErrors.push((error as Error).message);
          answer = { errors: [{ errorCode: 'IDA-MPA-004', errorMessage: 'Request could not be processed' }] };
        }
      }
      const text = JSON.stringify({
        id: request['id'],
        version: '1.0',
        transactionID: request['transactionID'],
        responseTime: new Date().toISOString(),
        response: null,
        errors: null,
        ...answer,
      });
      const key = state.mode === 'forged' ? forger!.key : signing!.key;
      const [header, , signature] = (
        await new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: 'RS256' }).sign(key)
      ).split('.');
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'response-signature': `${header}..${signature}`,
        })
        .end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    baseUrl: `http://127.0.0.1:${port}/idauthentication/v1`,
    settings: {
      partner_id: partner.id,
      misp_license_key: partner.license,
      partner_api_key: partner.apiKey,
      ...files,
      identifier_type: 'UIN',
      individual_id_type: 'UIN',
      language: 'eng',
      env: 'Developer',
      domain_uri: `http://127.0.0.1:${port}`,
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
