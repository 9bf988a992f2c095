/**
 * Signal, query and update definitions, built as `@temporalio/workflow`'s `defineSignal` / `defineQuery` /
 * `defineUpdate` build them (a plain `{ type, name }`), so the contracts load in the merchant library without the
 * workflow package: the library depends on `@temporalio/client` and `@temporalio/common` only. The types are the
 * SDK's own, so `setHandler`, `handle.signal` and `handle.executeUpdate` check arguments and results as before.
 */
import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';

export function defineSignal<Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): SignalDefinition<Args, Name> {
  return { type: 'signal', name } as SignalDefinition<Args, Name>;
}

export function defineQuery<Ret, Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): QueryDefinition<Ret, Args, Name> {
  return { type: 'query', name } as QueryDefinition<Ret, Args, Name>;
}

export function defineUpdate<Ret, Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): UpdateDefinition<Ret, Args, Name> {
  return { type: 'update', name } as UpdateDefinition<Ret, Args, Name>;
}
