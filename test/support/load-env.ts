// Makes the running stack's endpoints and local credentials (.atoll/stack.env) visible to every integration test.
import { paths, readStackEnvFile } from '@atoll/stack';

for (const [k, v] of Object.entries(readStackEnvFile(paths.envFile))) process.env[k] ??= v;
