/**
 * The registry of settlement targets, keyed by `SettlementTarget['kind']`: the compiler asks for an entry for every
 * member of the union. A target whose client this worker lacks fails settlement with a clear, final message.
 */
import { activePlatformWriter, type ActivePlatformSettlement } from './activeplatform';
import { gormicWriter, type GormicSettlement } from './gormic';
import { settlementRejected, type SettlementKind, type SettlementWriter } from './writer';

/** The targets' clients a worker was configured with. */
export interface SettlementClients {
  activePlatform?: ActivePlatformSettlement;
  gormic?: GormicSettlement;
}

interface Registration<K extends SettlementKind> {
  /** Names the configuration that is missing when the client is. */
  missing: string;
  writer(clients: SettlementClients): SettlementWriter<K> | undefined;
}

const SETTLEMENT_TARGETS: { [K in SettlementKind]: Registration<K> } = {
  activeplatform: {
    missing: 'ActivePlatform is not configured on this worker (ACTIVEPLATFORM_BASE_URL)',
    writer: (c) => c.activePlatform && activePlatformWriter(c.activePlatform),
  },
  gormic: {
    missing: 'Gormic is not configured on this worker (GORMIC_BASE_URL)',
    writer: (c) => c.gormic && gormicWriter(c.gormic),
  },
};

/** The writer of `kind`, or a final SettlementRejected failure when its client is not configured. */
export function settlementWriter<K extends SettlementKind>(clients: SettlementClients, kind: K): SettlementWriter<K> {
  const registration = SETTLEMENT_TARGETS[kind] as Registration<K>;
  const writer = registration.writer(clients);
  if (!writer) throw settlementRejected(kind, registration.missing);
  return writer;
}

export { activePlatformReversalComment, activePlatformSettlementComment } from './activeplatform';
export type { ActivePlatformSettlement } from './activeplatform';
export { gormicReversalRef } from './gormic';
export type { GormicSettlement } from './gormic';
export type {
  RecordSettlementInput,
  ReverseSettlementInput,
  SettlementKind,
  SettlementReversalWrite,
  SettlementWrite,
  SettlementWriter,
  WriteOptions,
} from './writer';
