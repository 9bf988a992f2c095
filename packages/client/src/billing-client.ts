/**
 * BillingClient: the typed library a merchant backend imports. It validates input with the same zod schemas as the
 * HTTP API, talks to Temporal only, and turns Temporal's errors into four billing errors with a `code` to switch on.
 * Its two namespaces, as stripe-node's resources: `billing.subscriptions` (./subscriptions.ts) and `billing.cycles`
 * (./cycles.ts). The Temporal client it uses is private: nothing reachable from a BillingClient hands it out.
 *
 * A client acts for one merchant (`merchantId`, default `default`): creates are stamped with it (search attribute
 * `MerchantId`) and every read, list and change sees only that merchant's subscriptions and their cycles; another
 * merchant's ids answer not found. The webhook ingress and the operators' duties (reconciliation, counts across
 * merchants) are not a merchant's: they are on the `@temporal-billing/client/engine` entry point.
 *
 * The one thing a create checks outside Temporal, that a given QorePay Client exists, goes through an optional
 * `CustomerVerifier` the caller supplies (the API process wires it to the QorePay client); the library itself never
 * talks to the gateway.
 */
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { BillingUnavailableError, BillingValidationError } from './errors';
import { encryptedDataConverter, hasPayloadCodec, parsePayloadKeys, type PayloadKey } from './payload-codec';
import { messageOf } from './temporal-adapter';
import { BillingContext, PAYLOAD_KEYS_REQUIRED, type BillingClientOptions, type SettlementAllowList } from './context';
import { Cycles } from './cycles';
import { FlatBillingMethods } from './flat-methods';
import { Subscriptions } from './subscriptions';
import type { ChangeActor } from '../../../src/shared/actor';

export type { BillingClientOptions, CustomerVerifier, SettlementAllowList } from './context';

/** How `BillingClient.connect` reaches Temporal: an open connection, or options to open one. */
export interface BillingConnectOptions extends Omit<BillingClientOptions, 'client'> {
  /** An open connection (the caller keeps owning it), or options for one this client opens and `close()` closes. */
  connection?: Connection | ConnectionOptions;
  /** Default `default`. */
  namespace?: string;
  /**
   * The deployment's payload keys (its PAYLOAD_KEYS: `id:base64key[,...]`, or parsed with `parsePayloadKeys`): every
   * payload is sealed with them, as the workers require. One of `payloadKeys` or `dataConverter` is required; for the
   * `npm start` stack, `connectToDevStack()` passes the development key.
   */
  payloadKeys?: string | readonly PayloadKey[];
  /** A data converter of your own; it must carry a payload codec matching the workers' (plaintext is refused). */
  dataConverter?: DataConverter;
}

/** The data converter a connect builds: the caller's (with a codec) or one sealing with `payloadKeys`. */
export function sealingDataConverter(
  options: Pick<BillingConnectOptions, 'dataConverter' | 'payloadKeys'>,
): DataConverter {
  const { dataConverter, payloadKeys } = options;
  if (dataConverter !== undefined) {
    if (!hasPayloadCodec(dataConverter)) {
      throw new BillingValidationError([
        { path: 'dataConverter', message: `has no payload codec; ${PAYLOAD_KEYS_REQUIRED}` },
      ]);
    }
    return dataConverter;
  }
  if (payloadKeys === undefined)
    throw new BillingValidationError([{ path: 'payloadKeys', message: PAYLOAD_KEYS_REQUIRED }]);
  try {
    return encryptedDataConverter(typeof payloadKeys === 'string' ? parsePayloadKeys(payloadKeys) : payloadKeys);
  } catch (err) {
    throw new BillingValidationError([{ path: 'payloadKeys', message: messageOf(err) }]);
  }
}

/** A Temporal client sealing every payload, on the given connection or a new one (`owned`: the caller closes it). */
export async function sealedTemporalClient(
  options: Pick<BillingConnectOptions, 'connection' | 'namespace' | 'dataConverter' | 'payloadKeys'>,
): Promise<{ client: Client; owned: Connection | undefined }> {
  const dataConverter = sealingDataConverter(options);
  const given = options.connection;
  let connection: Connection;
  let owned: Connection | undefined;
  if (given instanceof Connection) {
    connection = given;
  } else {
    try {
      connection = owned = await Connection.connect(given ?? {});
    } catch (err) {
      throw new BillingUnavailableError(`Temporal is unreachable: ${messageOf(err)}`, { cause: err });
    }
  }
  return { client: new Client({ connection, namespace: options.namespace ?? 'default', dataConverter }), owned };
}

export class BillingClient extends FlatBillingMethods {
  /** Create, read, list and change subscriptions. */
  readonly subscriptions: Subscriptions;
  /** Read billing cycles; mark one paid, charge it now, retry its settlement. */
  readonly cycles: Cycles;
  readonly #ctx: BillingContext;
  #ownedConnection: Connection | undefined;

  constructor(options: BillingClientOptions) {
    super();
    this.#ctx = new BillingContext(options);
    this.subscriptions = new Subscriptions(this.#ctx);
    this.cycles = new Cycles(this.#ctx);
  }

  /** The merchant this client acts for. */
  get merchantId(): string {
    return this.#ctx.merchantId;
  }

  /** Whether reads and changes reach every merchant's subscriptions (an operator's client). */
  get crossMerchant(): boolean {
    return this.#ctx.crossMerchant;
  }

  /** Stamped on every change this client makes (see `keyId`). */
  get actor(): ChangeActor {
    return this.#ctx.actor;
  }

  /** Connects to Temporal (`connection`: an open one, or options; default localhost:7233); see `close()`. */
  static async connect(options: BillingConnectOptions = {}): Promise<BillingClient> {
    const { connection: _c, namespace: _n, dataConverter: _d, payloadKeys: _k, ...rest } = options;
    const { client, owned } = await sealedTemporalClient(options);
    const billing = new BillingClient({ ...rest, client });
    billing.#ownedConnection = owned;
    return billing;
  }

  /**
   * The same Temporal client acting for another merchant (the API makes one per request from the key's merchant and
   * the key's id, which every change then records). Without `keyId`, this client's key id is kept.
   */
  forMerchant(
    merchantId: string,
    options: { crossMerchant?: boolean; settlementAllowList?: SettlementAllowList; keyId?: string } = {},
  ): BillingClient {
    const { settlementAllowList: _inherited, ...base } = this.#ctx.options;
    return new BillingClient({
      ...base,
      merchantId,
      ...(options.keyId !== undefined ? { keyId: options.keyId } : {}),
      crossMerchant: options.crossMerchant ?? false,
      ...(options.settlementAllowList ? { settlementAllowList: options.settlementAllowList } : {}),
    });
  }

  /** Closes the connection if this client opened it (`connect`); otherwise the caller owns it. */
  async close(): Promise<void> {
    const c = this.#ownedConnection;
    this.#ownedConnection = undefined;
    await c?.close();
  }
}
