#!/usr/bin/env node
// The `atoll` command, run through tsx:
//   npx atoll verify-license <file>   checks a license and its proofs offline (@atoll/licensing)
//   npx atoll rotate-kek              re-wraps the api's sealed signing keys under ATOLL_KEK (docs/security.md)
import { register } from 'tsx/esm/api';

register();
if (process.argv[2] === 'rotate-kek') {
  const { main } = await import('../apps/api/src/rotate-kek.ts');
  process.exitCode = await main();
} else {
  await import('../packages/licensing/src/cli.ts');
}
