// `npm run stack -- up` that fails stops what it started (issue 13, item 0): a second stack in its own state dir and
// port base, with Keycloak's port held by another program, fails naming the port, and the PostgreSQL, Redis, MinIO and
// stripe-mock it had already started are stopped again — nothing orphaned, the test's own stack untouched.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portsFree, status } from '@atoll/stack';
import { describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', 'packages', 'stack', 'src', 'cli.ts');

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('a failed start', () => {
  it('stops the services it started and leaves the running stack alone', async () => {
    let base = 0;
    // Bases under the kernel's ephemeral range (32768–60999 here): a port in it can be held for a moment as the local
    // end of any outgoing connection on the machine, and a MinIO that cannot bind exits (one red CI run, 41090/41091).
    for (const b of [26000, 28000, 30000, 32000]) {
      if (await portsFree({ ATOLL_PORT_BASE: String(b) })) {
        base = b;
        break;
      }
    }
    expect(base, 'a free port base').toBeGreaterThan(0);
    const before = await status();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(base + 180, '127.0.0.1', resolve));
    const stateDir = await mkdtemp(join(tmpdir(), 'atoll-failed-up-'));
    try {
      // Only what the CLI needs: no ATOLL_* of the test's own stack may leak into the second one.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATOLL_')));
      const r = await runCli(['up', '--no-apps'], { ...env, ATOLL_STATE_DIR: stateDir, ATOLL_PORT_BASE: String(base) });
      // What the failed stack's services logged, for a failure that is not the one staged here.
      const logs = await readdir(join(stateDir, 'logs')).catch(() => [] as string[]);
      const logTails = (await Promise.all(logs.map(async (f) => `--- ${f}\n${(await readFile(join(stateDir, 'logs', f), 'utf8').catch(() => '')).slice(-2000)}`))).join('\n');
      expect(r.code, r.output).not.toBe(0);
      expect(r.output, logTails).toContain(`port ${base + 180} needed by keycloak is taken by another program`);
      for (const name of ['postgres', 'redis', 'minio', 'stripe-mock']) expect(r.output).toContain(`stopped ${name} (started by this failed start)`);
      // Nothing of the failed stack still listens: PostgreSQL, Redis, MinIO (and its console), stripe-mock (both).
      for (const offset of [32, 79, 90, 91, 111, 112]) expect(await listening(base + offset), `port ${base + offset}`).toBe(false);
      // The test's own stack keeps its services (PostgreSQL and MinIO: no other test stops them; the apps and
      // stripe-mock are killed on purpose by crash and billing tests running beside this one).
      const after = await status();
      for (const name of ['postgres', 'minio'] as const) {
        const was = before.find((x) => x.name === name)!;
        expect(after.find((x) => x.name === name), name).toMatchObject({ pid: was.pid, healthy: true });
      }
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 300_000);
});
