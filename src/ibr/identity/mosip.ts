import {
  constants,
  createCipheriv,
  createHash,
  createPrivateKey,
  publicEncrypt,
  randomBytes,
  randomInt,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompactSign, flattenedVerify } from 'jose';
import {
  IdentitySystemError,
  NotVerifiableError,
  type IdentityAdapter,
  type OtpChannel,
  type PersonFacts,
  type Proof,
  type VerificationResult,
} from './adapter.ts';
import { jsonOf, postToIdSystem } from './http.ts';

/**
 * The MOSIP ID Authentication adapter (IDA 1.2 "auth" and "otp" APIs, as MOSIP's partner SDKs call
 * them): demographic authentication (name, date of birth, gender) and the two-step OTP flow. Every
 * request is signed by the partner's key (detached JWS, RS256, with the partner certificate in
 * `x5c`); the identity block is encrypted for the ID system (AES-256-GCM under a fresh session key,
 * the key sealed with RSA-OAEP-SHA256 to the IDA certificate, whose SHA-256 thumbprint names it),
 * with its SHA-256 sealed alongside as `requestHMAC`. Answers carrying a `response-signature` are
 * checked against the IDA signing certificate when one is configured.
 */

export interface MosipSettings {
  partner_id: string;
  misp_license_key: string;
  partner_api_key: string;
  /** PEM file: the IDA partner certificate whose key seals the session key. */
  ida_certificate: string;
  /** PEM file: the certificate IDA signs its answers with (unset: answers are not checked). */
  ida_signing_certificate?: string;
  /** PEM files: our partner key and certificate (the signature of each request). */
  partner_key: string;
  partner_certificate: string;
  /** The registry identifier type sent as `individualId` (e.g. `UIN`). */
  identifier_type: string;
  individual_id_type: 'UIN' | 'VID';
  /** ISO 639-2 code of the language the demographic values are in. */
  language: string;
  env: string;
  domain_uri: string;
}

const REQUIRED = [
  'partner_id',
  'misp_license_key',
  'partner_api_key',
  'ida_certificate',
  'partner_key',
  'partner_certificate',
] as const;

/** The settings of SPX_ID_VERIFY_MOSIP, checked and completed with defaults; throws naming what is wrong. */
export function parseMosipSettings(text: string | undefined): MosipSettings {
  if (!text) {
    throw new Error(`must be set for the mosip adapter (${REQUIRED.join(', ')})`);
  }
  let given: Partial<MosipSettings>;
  try {
    given = JSON.parse(text) as Partial<MosipSettings>;
  } catch {
    throw new Error('is not JSON');
  }
  const missing = REQUIRED.filter((name) => typeof given[name] !== 'string' || given[name] === '');
  if (missing.length > 0) {
    throw new Error(`needs ${missing.join(', ')}`);
  }
  const settings = {
    identifier_type: 'UIN',
    individual_id_type: 'UIN' as const,
    language: 'eng',
    env: 'Production',
    domain_uri: '',
    ...given,
  } as MosipSettings;
  if (!['UIN', 'VID'].includes(settings.individual_id_type)) {
    throw new Error('individual_id_type must be UIN or VID');
  }
  return settings;
}

interface Keys {
  idaCertificate: X509Certificate;
  idaSigning: X509Certificate | undefined;
  partnerKey: KeyObject;
  partnerCertificateDer: string;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the ${what} ${path} (${(error as NodeJS.ErrnoException).code})`);
  }
}

function certificateAt(path: string, what: string): X509Certificate {
  const pem = readPem(path, what);
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new Error(`the ${what} ${path} holds no PEM certificate`, { cause: error });
  }
}

function keysOf(settings: MosipSettings): Keys {
  const keyPem = readPem(settings.partner_key, 'partner key');
  let partnerKey: KeyObject;
  try {
    partnerKey = createPrivateKey(keyPem);
  } catch (error) {
    throw new Error(`the partner key ${settings.partner_key} holds no PEM private key`, { cause: error });
  }
  return {
    idaCertificate: certificateAt(settings.ida_certificate, 'IDA certificate'),
    idaSigning: settings.ida_signing_certificate
      ? certificateAt(settings.ida_signing_certificate, 'IDA signing certificate')
      : undefined,
    partnerKey,
    partnerCertificateDer: certificateAt(settings.partner_certificate, 'partner certificate').raw.toString(
      'base64',
    ),
  };
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** AES-256-GCM as MOSIP's crypto core lays it out: ciphertext, then the tag, then the 12-byte IV. */
function seal(key: Buffer, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return b64url(Buffer.concat([body, cipher.getAuthTag(), iv]));
}

/** The encrypted identity block and what IDA needs to open and check it. */
function encryptedBlock(keys: Keys, block: object) {
  const text = JSON.stringify(block);
  const sessionKey = randomBytes(32);
  return {
    thumbprint: b64url(createHash('sha256').update(keys.idaCertificate.raw).digest()),
    requestSessionKey: b64url(
      publicEncrypt(
        { key: keys.idaCertificate.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        sessionKey,
      ),
    ),
    requestHMAC: seal(sessionKey, createHash('sha256').update(text).digest('hex').toUpperCase()),
    request: seal(sessionKey, text),
  };
}

/** A MOSIP transaction id: ten digits, the same for an OTP request and the authentication using it. */
const newTransactionId = () => String(randomInt(1_000_000_000, 10_000_000_000));

const GENDERS: Record<string, string> = { male: 'Male', female: 'Female' };

/** MOSIP's demographic form: names and gender per language, date of birth as yyyy/MM/dd. */
function demographicsOf(person: PersonFacts, language: string) {
  const name = [person.given_name, person.middle_name, person.family_name].filter(Boolean).join(' ');
  const gender = GENDERS[person.sex];
  return {
    name: [{ language, value: name }],
    ...(person.birth_date ? { dob: person.birth_date.replaceAll('-', '/') } : {}),
    ...(gender ? { gender: [{ language, value: gender }] } : {}),
  };
}

/** Error codes by which IDA says "not this person" (rather than "I cannot answer"). */
const NO_MATCH = /^IDA-(DEA|OTA|BIA)-|^IDA-MLC-(002|018)$/;

interface IdaAnswer {
  response?: Record<string, unknown> | null;
  errors?: { errorCode?: string; errorMessage?: string }[] | null;
}

const errorsOf = (answer: IdaAnswer) =>
  (answer.errors ?? []).map((error) => `${error.errorCode ?? '?'}: ${error.errorMessage ?? ''}`.trim());

export function mosipAdapter(baseUrl: string, settings: MosipSettings): IdentityAdapter {
  const keys = keysOf(settings);
  const base = baseUrl.replace(/\/+$/, '');
  const path = [settings.misp_license_key, settings.partner_id, settings.partner_api_key]
    .map(encodeURIComponent)
    .join('/');

  const individualIdOf = (person: PersonFacts) => {
    const id = person.identifiers[settings.identifier_type];
    if (!id) {
      throw new NotVerifiableError(
        `the person holds no ${settings.identifier_type} identifier to verify against`,
      );
    }
    return id;
  };

  /** Signs and posts one request; answers IDA's JSON once its signature (if checked) holds. */
  const call = async (operation: 'auth' | 'otp', request: object, signal: AbortSignal) => {
    const body = JSON.stringify(request);
    const jws = await new CompactSign(new TextEncoder().encode(body))
      .setProtectedHeader({ alg: 'RS256', x5c: [keys.partnerCertificateDer] })
      .sign(keys.partnerKey);
    const [header, , signature] = jws.split('.');
    const answer = await postToIdSystem(`${base}/${operation}/${path}`, body, signal, {
      signature: `${header}..${signature}`,
    });
    await checkAnswerSignature(answer.text, answer.headers.get('response-signature'));
    return jsonOf(answer.text) as IdaAnswer;
  };

  const checkAnswerSignature = async (text: string, signature: string | null) => {
    if (!keys.idaSigning) {
      return;
    }
    const [header, , value] = (signature ?? '').split('.');
    try {
      await flattenedVerify(
        { protected: header ?? '', payload: b64url(Buffer.from(text)), signature: value ?? '' },
        keys.idaSigning.publicKey,
      );
    } catch {
      throw new IdentitySystemError("the ID system's answer is not signed by its signing certificate");
    }
  };

  const envelope = (id: string, person: PersonFacts, transactionId: string) => ({
    id,
    version: '1.0',
    requestTime: new Date().toISOString(),
    transactionID: transactionId,
    individualId: individualIdOf(person),
    individualIdType: settings.individual_id_type,
  });

  return {
    name: 'mosip',
    methods: ['demographic', 'otp'],

    async verify(person: PersonFacts, proof: Proof, signal: AbortSignal): Promise<VerificationResult> {
      const otp = proof.method === 'otp';
      const transactionId = otp ? proof.transactionId : newTransactionId();
      const block = {
        timestamp: new Date().toISOString(),
        ...(otp ? { otp: proof.otp } : { demographics: demographicsOf(person, settings.language) }),
      };
      const answer = await call(
        'auth',
        {
          ...envelope('mosip.identity.auth', person, transactionId),
          specVersion: '1.0',
          env: settings.env,
          domainUri: settings.domain_uri,
          requestedAuth: { otp, demo: !otp, bio: false },
          consentObtained: true,
          ...encryptedBlock(keys, block),
          metadata: {},
        },
        signal,
      );
      if (answer.response?.['authStatus'] === true) {
        return { outcome: 'match' };
      }
      const errors = errorsOf(answer);
      if (errors.length > 0 && !errors.every((error) => NO_MATCH.test(error.split(':')[0]!))) {
        throw new IdentitySystemError(`the ID system refused the request (${errors.join('; ')})`);
      }
      return { outcome: 'no_match', detail: errors.join('; ') || 'authStatus false' };
    },

    async requestOtp(person: PersonFacts, channels: readonly OtpChannel[], signal: AbortSignal) {
      const transactionId = newTransactionId();
      const answer = await call(
        'otp',
        {
          ...envelope('mosip.identity.otp', person, transactionId),
          otpChannel: channels.map((channel) => channel.toUpperCase()),
          metadata: {},
        },
        signal,
      );
      const errors = errorsOf(answer);
      if (errors.length > 0 || !answer.response) {
        const refused = errors.some((error) => NO_MATCH.test(error.split(':')[0]!));
        const message = `the ID system sent no OTP (${errors.join('; ') || 'empty answer'})`;
        throw refused ? new NotVerifiableError(message) : new IdentitySystemError(message);
      }
      const masked = (name: string) =>
        typeof answer.response?.[name] === 'string' ? answer.response[name] : null;
      return { transactionId, maskedPhone: masked('maskedMobile'), maskedEmail: masked('maskedEmail') };
    },
  };
}
