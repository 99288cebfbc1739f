// Starts long-running services as detached process groups with pid files, and stops only what it started.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { paths } from './paths.js';

export interface PidRecord {
  name: string;
  pid: number;
  /** Kernel start time of the process (/proc/<pid>/stat field 22): proves the pid was not reused. */
  startTicks: string | null;
  startedAt: string;
}

export interface StartSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
}

const pidFile = (name: string) => join(paths.pidDir, `${name}.pid.json`);

export function readPid(name: string): PidRecord | null {
  try {
    return JSON.parse(readFileSync(pidFile(name), 'utf8')) as PidRecord;
  } catch {
    return null;
  }
}

function startTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it are split from the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(rec: PidRecord): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  const ticks = startTicks(rec.pid);
  if (ticks === null || rec.startTicks === null) return true; // no /proc (not Linux): trust the signal probe
  if (ticks !== rec.startTicks) return false;
  // A zombie still answers signal 0; it is not alive in any useful sense.
  try {
    const state = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function logFile(name: string): string {
  return join(paths.logDir, `${name}.log`);
}

export async function startProcess(spec: StartSpec): Promise<PidRecord> {
  const existing = readPid(spec.name);
  if (existing && isAlive(existing)) return existing;
  await mkdir(paths.pidDir, { recursive: true });
  await mkdir(paths.logDir, { recursive: true });
  const fd = openSync(logFile(spec.name), 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...spec.env },
    detached: true,
    stdio: ['ignore', fd, fd],
    ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
    ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name}`);
  child.unref();
  const rec: PidRecord = { name: spec.name, pid: child.pid, startTicks: startTicks(child.pid), startedAt: new Date().toISOString() };
  await writeFile(pidFile(spec.name), JSON.stringify(rec));
  return rec;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `signal` (SIGTERM unless told) to the process group, wait, then SIGKILL. Only acts on pids recorded by startProcess
 * that still match. SIGKILL at once is a crash (chaos and crash tests); PostgreSQL stops fast on SIGINT.
 */
export async function stopProcess(name: string, timeoutMs = 30_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const rec = readPid(name);
  if (!rec) return false;
  if (isAlive(rec)) {
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-rec.pid, sig);
      } catch {
        try {
          process.kill(rec.pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    signalGroup(signal);
    const deadline = Date.now() + timeoutMs;
    while (isAlive(rec) && Date.now() < deadline) await sleep(100);
    if (isAlive(rec)) {
      signalGroup('SIGKILL');
      while (isAlive(rec)) await sleep(50);
    }
    // Children in the group (e.g. a JVM under a shell script) must not outlive the leader.
    try {
      process.kill(-rec.pid, 'SIGKILL');
    } catch {
      /* group empty */
    }
  }
  if (existsSync(pidFile(name))) await rm(pidFile(name), { force: true });
  return true;
}
