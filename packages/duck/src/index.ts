export { Duck, QueryTimeoutError, ident, literal, type DuckOptions } from './duck.js';
export { gateSelect, defaultGateLimits, type GateResult, type GateLimits, type GateOptions } from './sql-gate.js';
export { allowedFunctions, type FunctionKind } from './allowed-functions.js';
export { queryShape, type QueryShape } from './query-shape.js';
