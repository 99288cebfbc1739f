// The in-process api fixture serves the same routes as the stack's api process.
import { expect, it } from 'vitest';
import { startInProcessApi } from './support/inprocess-api.js';

it('builds the api in-process against the running stack', async () => {
  await using api = await startInProcessApi();
  const ready = await fetch(`${api.url}/readyz`);
  expect(ready.status).toBe(200);
  const openapi = (await (await fetch(`${api.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(openapi.paths).toHaveProperty('/v1/uploads/{table}');
});
