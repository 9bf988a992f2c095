/** zod schemas of src/shared/actor.ts, for the edges (config, the client, the OpenAPI document); never in workflows. */
import { z } from 'zod';
import { CHANGE_KINDS, KEY_ID_PATTERN, KEY_ID_RULE, MERCHANT_ID_RULE } from './actor';
import { MERCHANT_ID_PATTERN } from './billing-cycle';

export const ChangeActorSchema = z.strictObject({
  keyId: z.string().regex(KEY_ID_PATTERN, KEY_ID_RULE),
  merchantId: z.string().regex(MERCHANT_ID_PATTERN, MERCHANT_ID_RULE),
});

/** A change trail entry as views show it (the OpenAPI document describes `changes` with this). */
export const ChangeRecordSchema = z
  .object({
    kind: z.enum(CHANGE_KINDS),
    keyId: z.string().meta({ description: 'The id of the API key that made the change (`library`, `cli`, ...).' }),
    merchantId: z.string(),
    at: z.string().meta({ description: 'When the workflow applied the change (ISO 8601).' }),
    updateId: z.string().optional().meta({ description: 'The Temporal update id of the change.' }),
  })
  .meta({ description: 'Who changed it and when.' });

export const ChangeTrailSchema = z.array(ChangeRecordSchema).meta({
  description: 'Who changed it and when, oldest first: the last 50 changes (absent until the first one).',
});
