/**
 * Payload encryption: every payload a client or worker sends to Temporal (workflow inputs and results, signal,
 * update and query arguments, activity inputs and results, memo, failures' details) is sealed with AES-256-GCM before
 * it leaves the process, so recurring tokens, e-mails and customer details are not readable in Temporal's database,
 * its UI or its exports. Search attributes are not payload-encoded (they must stay queryable) and carry ids and
 * statuses only.
 *
 * Wire format of an encrypted payload: metadata `encoding: binary/encrypted` and `encryption-key-id: <id>`; data is
 * `iv (12 bytes) || ciphertext || GCM tag (16 bytes)` of the serialized original Payload, with the key id as
 * additional authenticated data (a payload cannot be re-labelled with another key id).
 *
 * Rotation: encryption always uses the current key (the first one configured); decryption picks the key named in the
 * payload's metadata, so histories written under an older key keep decoding as long as that key stays configured.
 * A payload that is not encrypted is refused on decode (`PlaintextPayloadError`): a client or worker without the codec
 * must not get its data into the engine, nor a reader believe it was protected. Only a reader that displays payloads
 * (the Temporal UI's codec endpoint) passes them through, with `plaintextDecode: 'pass'`.
 *
 * Lives outside src/workflows: it uses node:crypto and runs in the client and the worker, never in the sandbox.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface PayloadKey {
  /** Short name stored in each payload's metadata, e.g. `2026-11` (letters, digits, `_`, `-`, `.`). */
  id: string;
  /** 32 bytes of key material. */
  key: Uint8Array;
}

/**
 * The development key: used when PAYLOAD_KEYS is not set and QorePay is the local sandbox (see src/config.ts). Its
 * material is derived from a public string, so it protects nothing; production configuration refuses it.
 */
export const DEV_PAYLOAD_KEY: PayloadKey = {
  id: 'dev-insecure',
  key: createHash('sha256').update('temporal-billing-engine: public development payload key').digest(),
};

export const PAYLOAD_KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parses `id:base64key[,id:base64key...]`; the first key is the current one. Throws one message per problem. */
export function parsePayloadKeys(spec: string): PayloadKey[] {
  const problems: string[] = [];
  const keys: PayloadKey[] = [];
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) problems.push('no key given');
  entries.forEach((entry, i) => {
    const sep = entry.indexOf(':');
    const id = sep > 0 ? entry.slice(0, sep) : '';
    const material = sep > 0 ? entry.slice(sep + 1) : '';
    if (!PAYLOAD_KEY_ID_PATTERN.test(id)) {
      problems.push(`entry ${i + 1}: expected <keyId>:<base64 of 32 bytes>, key id of letters, digits, _ . -`);
      return;
    }
    const key = Buffer.from(material, 'base64');
    if (key.length !== KEY_BYTES || key.toString('base64').replace(/=+$/, '') !== material.replace(/=+$/, '')) {
      problems.push(`key ${id}: must be 32 bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
      return;
    }
    if (keys.some((k) => k.id === id)) problems.push(`key ${id}: listed twice`);
    keys.push({ id, key });
  });
  if (problems.length) throw new Error(problems.join('; '));
  return keys;
}

export function isDevPayloadKey(k: PayloadKey): boolean {
  return k.id === DEV_PAYLOAD_KEY.id || Buffer.from(k.key).equals(Buffer.from(DEV_PAYLOAD_KEY.key));
}

export class PayloadKeyUnknownError extends Error {
  constructor(keyId: string) {
    super(`payload encrypted with key ${JSON.stringify(keyId)}, which is not configured (PAYLOAD_KEYS)`);
    this.name = 'PayloadKeyUnknownError';
  }
}

/** A payload arrived without encryption where every payload must be encrypted (see `plaintextDecode`). */
export class PlaintextPayloadError extends Error {
  constructor(encoding: string) {
    super(
      `payload is not encrypted (encoding ${encoding || 'none'}): it was written by a client or worker without the ` +
        'payload codec (encryptedDataConverter with the deployment PAYLOAD_KEYS), and is refused',
    );
    this.name = 'PlaintextPayloadError';
  }
}

export interface AesGcmPayloadCodecOptions {
  /**
   * What decode does with a payload that is not encrypted: `reject` (default) throws PlaintextPayloadError; `pass`
   * returns it unchanged, for readers that only display payloads (the UI codec endpoint).
   */
  plaintextDecode?: 'reject' | 'pass';
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly current: PayloadKey;
  private readonly byId: Map<string, Uint8Array>;
  private readonly passPlaintext: boolean;

  /** `keys[0]` encrypts; every key decrypts the payloads that name it. */
  constructor(keys: readonly PayloadKey[], options: AesGcmPayloadCodecOptions = {}) {
    this.passPlaintext = options.plaintextDecode === 'pass';
    const [current] = keys;
    if (!current) throw new Error('AesGcmPayloadCodec needs at least one key');
    for (const k of keys) {
      if (k.key.length !== KEY_BYTES) throw new Error(`payload key ${k.id} must be ${KEY_BYTES} bytes`);
    }
    this.current = current;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  private encrypt(payload: Payload): Payload {
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(this.current.id, 'utf8'));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING, 'utf8'),
        [KEY_ID_METADATA_KEY]: Buffer.from(this.current.id, 'utf8'),
      },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    const raw = payload.metadata?.[METADATA_ENCODING_KEY];
    const encoding = raw ? Buffer.from(raw).toString('utf8') : '';
    if (encoding !== ENCRYPTED_ENCODING) {
      if (this.passPlaintext) return payload;
      throw new PlaintextPayloadError(encoding);
    }
    const idBytes = payload.metadata?.[KEY_ID_METADATA_KEY];
    const keyId = idBytes ? Buffer.from(idBytes).toString('utf8') : '';
    const key = this.byId.get(keyId);
    if (!key) throw new PayloadKeyUnknownError(keyId);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted payload is too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/**
 * The data converter of every client and worker of this engine. Failure messages stay plain (Temporal's default): they
 * never carry customer data (design invariant 4, tested), and operators read them without the codec.
 */
export function encryptedDataConverter(keys: readonly PayloadKey[]): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)] };
}

/** True when a data converter seals payloads (has a payload codec): what clients and workers of this engine need. */
export function hasPayloadCodec(dataConverter: DataConverter | undefined): boolean {
  return (dataConverter?.payloadCodecs?.length ?? 0) > 0;
}
