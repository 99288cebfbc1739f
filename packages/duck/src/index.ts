export { Duck, QueryTimeoutError, ident, literal, type DuckOptions } from './duck.js';
export { gateSelect, type GateResult } from './sql-gate.js';
export { queryShape, type QueryShape } from './query-shape.js';
