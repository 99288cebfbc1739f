// Failures of the machine rather than of the input: a full disk, memory, file handles, a lost connection. Code that
// turns a reading or conversion error into "this file is bad" (a permanent rejection of an acknowledged upload) must
// let these through instead, so the job is retried once the machine recovers.

const SYSTEM_CODES = new Set(['ENOSPC', 'EDQUOT', 'ENOMEM', 'EMFILE', 'ENFILE', 'EIO', 'EROFS', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/** DuckDB and other native libraries report the same failures only in their messages. */
const MESSAGE_PATTERNS = [
  /No space left on device/i,
  /Disk quota exceeded/i,
  /Out of Memory Error/i,
  /failed to allocate/i,
  /Too many open files/i,
  /Read-only file system/i,
  /Could not write file/i,
  /Input\/output error/i,
];

export function isEnvironmentFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && SYSTEM_CODES.has(code)) return true;
    const message = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
    if (MESSAGE_PATTERNS.some((p) => p.test(message))) return true;
  }
  return false;
}
