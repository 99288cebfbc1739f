#!/usr/bin/env node
// The `atoll` command (`npx atoll verify-license <file>`): runs the TypeScript CLI of @atoll/licensing through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../packages/licensing/src/cli.ts');
