/** What a merchant change's handler hands its machine about the request: who asked, and the update's id. */
import { currentUpdateInfo } from '@temporalio/workflow';
import type { ChangeRequest } from '../domain/change-trail';
import type { ChangeActorArg } from '../shared/actor';

export function changeRequest(request: ChangeActorArg | undefined): ChangeRequest {
  const updateId = currentUpdateInfo()?.id;
  return {
    ...(request?.actor ? { actor: { keyId: request.actor.keyId, merchantId: request.actor.merchantId } } : {}),
    ...(updateId !== undefined ? { updateId } : {}),
  };
}
