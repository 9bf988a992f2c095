/**
 * The docs page's example bodies are real requests: each validates against its route's schema, and the create
 * example is the README's first curl (so "Try it out" creates sub_42 as the quickstart does).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROUTES, type RouteSpec } from '../../../src/api/routes';
import { buildOpenApiDocument } from '../../../src/api/openapi';

const routes: readonly RouteSpec[] = ROUTES;
const doc = buildOpenApiDocument(routes);

it('every route with a body example has one its schema accepts', () => {
  const withExamples = routes.filter((r) => r.bodyExample !== undefined);
  expect(withExamples.map((r) => r.operationId)).toContain('createSubscription');
  for (const r of withExamples)
    expect([r.operationId, r.body!.safeParse(r.bodyExample).success]).toEqual([r.operationId, true]);
});

it("the create example is in the OpenAPI document and is the README's sub_42 body", () => {
  const op = doc.paths['/v1/subscriptions']!.post as {
    requestBody: { content: Record<string, { example?: unknown }> };
  };
  const example = op.requestBody.content['application/json']!.example;
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const curl = /-d '(\{[\s\S]*?"subscriptionId": "sub_42"[\s\S]*?\})'/.exec(readme);
  expect(curl).not.toBeNull();
  expect(example).toEqual(JSON.parse(curl![1]!));
});
