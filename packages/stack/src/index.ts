export { up, down, status, stopService, ensureServices, portsFree, appEnv, initEnv, stackEnv, readStackEnvFile, loadContext, type StackContext, type ServiceStatus } from './stack.js';
export { paths, repoRoot, stateDir, cacheDir } from './paths.js';
export { readPid, type PidRecord } from './supervisor.js';
export { versions } from './versions.js';
export { serviceNames, type ServiceName } from './ports.js';
export { AtollHttp, ApiError, clientToken, readCleanroomTable, waitUntil, type CleanroomKey } from './client.js';
export { runDemo, demoRecords, demoBulkRecords, type DemoResult } from './demo.js';
export { keycloakAdmin, KeycloakAdmin, PORTAL_CLIENT_ID, STEP_UP_CLIENT_ID, STEP_UP_FLOW } from './step-up-realm.js';
