/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table (./routes.ts) and the zod schemas
 * (./schemas.ts) with zod 4's `z.toJSONSchema`: the document cannot drift from what the server validates.
 */
import { z } from 'zod';
import type { RouteSpec } from './routes';
import { IDEMPOTENCY_KEY_HEADER } from '@temporal-billing/client/schemas';

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

const ErrorSchemas = {
  ValidationFailed: z
    .object({
      error: z.literal('validation_failed'),
      issues: z.array(z.object({ path: z.string(), message: z.string() })),
    })
    .meta({ description: 'Field-level problems; `path` is dotted, e.g. `plan.lineItems.0.priceMinor`.' }),
  Unauthorized: z.object({ error: z.literal('unauthorized') }),
  NotFound: z.object({ error: z.literal('not_found'), message: z.string().optional() }),
  Conflict: z.object({ error: z.literal('conflict'), message: z.string(), fields: z.array(z.string()).optional() }),
  Unavailable: z.object({ error: z.literal('unavailable'), message: z.string() }),
};

function toJsonSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** `/v1/subscriptions/:id` -> `/v1/subscriptions/{id}` */
export function openApiPath(fastifyPath: string): string {
  return fastifyPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function buildOpenApiDocument(routes: readonly RouteSpec[], version = '0.1.0'): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = {};
  const ref = (name: string, schema: z.ZodType): { $ref: string } => {
    schemas[name] ??= toJsonSchema(schema);
    return { $ref: `#/components/schemas/${name}` };
  };
  const errorResponse = (name: keyof typeof ErrorSchemas, description: string) => ({
    description,
    content: { 'application/json': { schema: ref(name, ErrorSchemas[name]) } },
  });

  const paths: OpenApiDocument['paths'] = {};
  for (const r of routes) {
    const parameters: unknown[] = [];
    for (const [name, schema] of Object.entries(r.params ?? {})) {
      parameters.push({ name, in: 'path', required: true, schema: toJsonSchema(schema) });
    }
    for (const [name, schema] of Object.entries(r.headers ?? {})) {
      const json = toJsonSchema(schema);
      const { description, ...headerSchema } = json;
      parameters.push({
        name,
        in: 'header',
        required: false,
        ...(description ? { description } : {}),
        schema: headerSchema,
      });
    }
    if (r.query) {
      const q = toJsonSchema(r.query) as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      responses[status] = {
        description: res.description,
        ...(res.schema
          ? { content: { [res.contentType ?? 'application/json']: { schema: toJsonSchema(res.schema) } } }
          : {}),
      };
    }
    if (r.body || r.params || r.query) responses['400'] ??= errorResponse('ValidationFailed', 'Invalid input');
    if (r.auth) responses['401'] = errorResponse('Unauthorized', 'Missing or unknown API key');
    if (r.temporal) {
      responses['503'] ??= errorResponse(
        'Unavailable',
        r.unavailableDescription ?? 'Temporal is unreachable; retry later',
      );
    }
    for (const e of r.errors ?? []) {
      if (e === 404) responses['404'] = errorResponse('NotFound', 'Unknown subscription or cycle');
      if (e === 409) responses['409'] = errorResponse('Conflict', 'Conflicts with the current state');
    }
    if (r.headers && IDEMPOTENCY_KEY_HEADER in r.headers) {
      const state = responses['409'] ? 'Conflicts with the current state, or the' : 'The';
      responses['409'] = errorResponse(
        'Conflict',
        `${state} Idempotency-Key was used for a different request, or the first request with the key is still ` +
          'in progress (a concurrent duplicate waited up to 30 s for its answer): retry later with the same key',
      );
    }
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      ...(r.description ? { description: r.description } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: {
                [r.bodyContentType ?? 'application/json']: {
                  schema: r.bodyName ? ref(r.bodyName, r.body) : toJsonSchema(r.body),
                  ...(r.bodyExample === undefined ? {} : { example: r.bodyExample }),
                },
              },
            },
          }
        : {}),
      responses,
      security: r.auth ? [{ bearerAuth: [] }] : [],
    };
    const path = openApiPath(r.url);
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: op };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Billing engine API',
      version,
      description:
        'Merchant API of the recurring billing engine: subscriptions and their billing cycles, on Temporal. ' +
        'Amounts are integer minor units. Authenticate with `Authorization: Bearer <API key>`: a key belongs to ' +
        "one merchant and sees only that merchant's subscriptions and cycles (other ids answer 404); operator " +
        'routes need a key with the `operator` scope (403 otherwise). Every POST takes an `Idempotency-Key` ' +
        'header (Stripe semantics): the same key and body answer the first answer again, the same key with another ' +
        'body answers 409 naming the key; a duplicate sent while the first request is still running waits for its ' +
        'answer (up to 30 s) and otherwise answers 409 "still in progress" (retry later); the change runs once. ' +
        'Keys are kept at least 24 hours.',
    },
    paths,
    components: {
      schemas,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A merchant API key.' } },
    },
  };
}
