// Validates environment variables once at start-up against a TypeBox schema; fails with every bad variable at once.
import type { Static, TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export interface ConfigIssue {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads exactly the variables the schema names from `env`, applies defaults, converts numbers and booleans,
 * and returns a frozen object. Unknown variables are ignored; secrets never appear in error messages.
 */
export function loadConfig<S extends TObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): DeepReadonly<Static<S>> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const issues: ConfigIssue[] = [];
  for (const error of Value.Errors(schema, converted)) {
    const variable = error.path.replace(/^\//, '') || '(root)';
    const missing = raw[variable] === undefined && error.value === undefined;
    issues.push({ variable, message: missing ? 'is required' : error.message });
  }
  if (issues.length > 0) {
    const seen = new Set<string>();
    throw new ConfigError(issues.filter((i) => (seen.has(i.variable) ? false : (seen.add(i.variable), true))));
  }
  return deepFreeze(converted as Static<S>) as DeepReadonly<Static<S>>;
}
