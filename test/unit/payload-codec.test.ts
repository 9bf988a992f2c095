import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { ConfigError, loadConfig } from '../../src/config';
import {
  AesGcmPayloadCodec,
  DEV_PAYLOAD_KEY,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA_KEY,
  PayloadKeyUnknownError,
  parsePayloadKeys,
} from '@temporal-billing/client/payload-codec';

const key = (id: string) => ({ id, key: randomBytes(32) });
const secret = { recurringToken: 'tok_success_secret_4242', customerEmail: 'jane@example.com' };
const plain = (): Payload => defaultPayloadConverter.toPayload(secret);
const text = (p: Payload) => Buffer.from(p.data ?? new Uint8Array()).toString('latin1');
const meta = (p: Payload, k: string) => Buffer.from(p.metadata?.[k] ?? new Uint8Array()).toString('utf8');

describe('AesGcmPayloadCodec', () => {
  it('seals a payload (no plaintext left, key id in metadata) and opens it back', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const [sealed] = await codec.encode([plain()]);
    expect(meta(sealed!, METADATA_ENCODING_KEY)).toBe(ENCRYPTED_ENCODING);
    expect(meta(sealed!, KEY_ID_METADATA_KEY)).toBe('k1');
    expect(text(sealed!)).not.toContain('tok_success_secret_4242');
    expect(text(sealed!)).not.toContain('jane@example.com');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(secret);
  });

  it('uses a fresh IV each time: the same value seals to different bytes', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotation: payloads sealed under key 1 still open once key 2 is current; new ones use key 2', async () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const [old] = await new AesGcmPayloadCodec([k1]).encode([plain()]);
    const rotated = new AesGcmPayloadCodec([k2, k1]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!)).toEqual(secret);
    const [fresh] = await rotated.encode([plain()]);
    expect(meta(fresh!, KEY_ID_METADATA_KEY)).toBe('k2');
    // A process that only has key 1 cannot read what key 2 sealed: it fails loudly instead of guessing.
    await expect(new AesGcmPayloadCodec([k1]).decode([fresh!])).rejects.toBeInstanceOf(PayloadKeyUnknownError);
  });

  it('rejects a tampered payload and a payload re-labelled with another key id', async () => {
    const k1 = key('k1');
    const k2 = { id: 'k2', key: k1.key };
    const codec = new AesGcmPayloadCodec([k1, k2]);
    const [sealed] = await codec.encode([plain()]);
    const flipped = Buffer.from(sealed!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data: flipped }])).rejects.toThrow();
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA_KEY]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow();
  });

  it('refuses to decode a payload that was never encrypted: a client without the codec is not trusted', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    await expect(codec.decode([plain()])).rejects.toThrow(/not encrypted \(encoding json\/plain\)/);
  });

  it('passes plaintext through only when asked to (the UI codec endpoint, which only displays)', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')], { plaintextDecode: 'pass' });
    const [out] = await codec.decode([plain()]);
    expect(defaultPayloadConverter.fromPayload(out!)).toEqual(secret);
  });
});

describe('PAYLOAD_KEYS', () => {
  const b64 = () => randomBytes(32).toString('base64');

  it('parses id:base64 pairs, current key first', () => {
    const keys = parsePayloadKeys(`2026-12:${b64()}, 2026-11:${b64()}`);
    expect(keys.map((k) => k.id)).toEqual(['2026-12', '2026-11']);
  });

  it('names each bad entry without echoing key material', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => parsePayloadKeys(`k1:${short}`)).toThrow(/key k1: must be 32 bytes/);
    expect(() => parsePayloadKeys(`nokey`)).toThrow(/entry 1/);
    const k = b64();
    expect(() => parsePayloadKeys(`a:${k},a:${k}`)).toThrow(/listed twice/);
    try {
      parsePayloadKeys(`k1:${short}`);
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it('config: the public development key only with the local sandbox outside production', () => {
    const dev = loadConfig({});
    expect(dev.devPayloadKey).toBe(true);
    expect(dev.payloadKeys).toEqual([DEV_PAYLOAD_KEY]);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/PAYLOAD_KEYS: required when NODE_ENV=production/);
    expect(() => loadConfig({ QOREPAY_BASE_URL: 'https://gate.qorepay.example/api/v1' })).toThrow(
      /PAYLOAD_KEYS: required when QOREPAY_BASE_URL is not the local sandbox/,
    );
    const devKeyB64 = Buffer.from(DEV_PAYLOAD_KEY.key).toString('base64');
    expect(() => loadConfig({ NODE_ENV: 'production', PAYLOAD_KEYS: `renamed:${devKeyB64}` })).toThrow(
      /public development key is refused/,
    );
    const prod = loadConfig({
      NODE_ENV: 'production',
      PAYLOAD_KEYS: `k1:${b64()}`,
      QOREPAY_BASE_URL: 'https://gate.qorepay.example/api/v1',
      QOREPAY_API_KEY: 'sk_live_0123456789',
      DATABASE_URL: 'postgres://billing:pw@db:5432/billing',
      CONSOLE_SESSION_KEY: Buffer.alloc(32, 9).toString('base64'),
    });
    expect(prod.devPayloadKey).toBe(false);
    expect(prod.payloadKeys.map((k) => k.id)).toEqual(['k1']);
    expect(() => loadConfig({ PAYLOAD_KEYS: 'k1:short' })).toThrow(ConfigError);
  });
});
