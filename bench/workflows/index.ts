// The benchmark worker's workflow bundle: the engine's workflows exactly as shipped, plus the reference workflows.
export * from '../../src/workflows';
export { minimalCycleWorkflow, noopWorkflow } from './minimal';
