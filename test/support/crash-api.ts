// An api process for the upload crash test: the real app (buildApp + createDeps, the stack's config) on a free port,
// printing "LISTENING <url>" once it serves, so the test can drive uploads at it and SIGKILL it mid-stream.
//   node --import tsx test/support/crash-api.ts
import { startInProcessApi } from './inprocess-api.js';

// The caches only answer from memory once the change feed listens; wait for it so the test exercises the fast path.
const { url } = await startInProcessApi({}, { name: 'crash-api', waitForChangeFeed: true });
process.stdout.write(`LISTENING ${url}\n`);
