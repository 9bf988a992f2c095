/**
 * One line to the `npm start` stack: `const billing = await connectToDevStack();`. The stack's Temporal dev server
 * listens on 127.0.0.1:7233, namespace `default`, task queue `billing`, and its worker seals payloads with the public
 * development key (DEV_PAYLOAD_KEY): so does this client. That key protects nothing, so the helper refuses
 * NODE_ENV=production; a deployment connects with `BillingClient.connect({ connection, payloadKeys })`.
 */
import { BillingClient, type BillingConnectOptions } from './billing-client';
import { DEV_PAYLOAD_KEY } from './payload-codec';

export interface DevStackOptions extends Omit<BillingConnectOptions, 'connection' | 'payloadKeys' | 'dataConverter'> {
  /** Default `127.0.0.1:7233` (TEMPORAL_DEV_PORT of `npm start`). */
  address?: string;
}

export async function connectToDevStack(options: DevStackOptions = {}): Promise<BillingClient> {
  if (process.env.NODE_ENV === 'production') {
    throw new Error('connectToDevStack uses the public development payload key and refuses NODE_ENV=production');
  }
  const { address, ...rest } = options;
  return BillingClient.connect({
    ...rest,
    connection: { address: address ?? '127.0.0.1:7233' },
    payloadKeys: [DEV_PAYLOAD_KEY],
  });
}
