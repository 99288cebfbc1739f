// DuckDB in-process: instances with explicit memory/thread/temp limits, and small typed helpers around queries.
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

export interface DuckOptions {
  memoryLimit?: string;
  threads?: number;
  tempDirectory?: string;
}

export class Duck {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async open(opts: DuckOptions = {}): Promise<Duck> {
    const config: Record<string, string> = {
      memory_limit: opts.memoryLimit ?? '1GB',
      threads: String(opts.threads ?? 2),
      // Nothing is ever downloaded at run time (decision 2): extensions come built in or not at all.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    };
    if (opts.tempDirectory) config.temp_directory = opts.tempDirectory;
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    return new Duck(instance, connection);
  }

  async run(sql: string, params?: DuckDBValue[]): Promise<void> {
    await this.connection.run(sql, params);
  }

  async all<T = Record<string, unknown>>(sql: string, params?: DuckDBValue[]): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJson() as T[];
  }

  /** Rows with DuckDB's own JS values (bigint stays bigint), for callers that need exact types. */
  async rows(sql: string, params?: DuckDBValue[]): Promise<Record<string, DuckDBValue>[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjects();
  }

  /** Runs `fn`, interrupting DuckDB when it takes longer than `timeoutMs`. */
  async withTimeout<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.connection.interrupt();
    }, timeoutMs);
    try {
      return await fn();
    } catch (e) {
      if (timedOut) throw new QueryTimeoutError(timeoutMs);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

export class QueryTimeoutError extends Error {
  constructor(ms: number) {
    super(`the query ran longer than ${ms} ms and was stopped`);
    this.name = 'QueryTimeoutError';
  }
}

/** Quotes an identifier for DuckDB SQL. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for DuckDB SQL. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
