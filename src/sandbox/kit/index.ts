export { createSandboxApp, listen } from './app';
export type { ListenOptions } from './app';
export { faultControls, Faults } from './faults';
export type { FaultOptions } from './faults';
export { Ledger } from './ledger';
export { bodyOf, numberLiteral, parseJsonKeepingRaw, rawBodyOf } from './raw-body';
export { SandboxTimers } from './timers';
