// `npm run stack -- up|down|status|install` and `npm start` (up + demo, then wait for Ctrl-C).
import { paths } from './paths.js';
import { down, status, up } from './stack.js';
import { versions } from './versions.js';
import { installStack } from './install.js';
import { keycloakAdmin, provisionStepUp } from '@atoll/identity';

const usage = 'usage: npm run stack -- up [--no-apps] | down | status | install | versions | keycloak-step-up';

async function printStatus(): Promise<boolean> {
  const rows = await status();
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const state = r.healthy ? 'healthy' : r.running ? 'UNHEALTHY' : 'stopped';
    process.stdout.write(`${r.name.padEnd(width)}  ${state.padEnd(9)}  pid ${String(r.pid ?? '-').padEnd(7)}  ports ${r.ports.join(',')}\n`);
  }
  return rows.every((r) => r.healthy);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'install':
      await installStack();
      return 0;
    case 'up':
      await up({ apps: !rest.includes('--no-apps') });
      await printStatus();
      process.stdout.write(`\nenvironment: ${paths.envFile} (source it in a shell)\n`);
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status':
      return (await printStatus()) ? 0 : 1;
    case 'keycloak-step-up': {
      // For Keycloaks this stack did not start (compose, Helm, an existing one): the same step-up configuration that
      // `up` applies, from KEYCLOAK_URL, KEYCLOAK_REALM (default atoll), KEYCLOAK_ADMIN and KEYCLOAK_ADMIN_PASSWORD;
      // PORTAL_ORIGINS (comma-separated public origins of the api, e.g. https://atoll.example.com) adds the portal client.
      const e = process.env;
      if (!e.KEYCLOAK_URL || !e.KEYCLOAK_ADMIN_PASSWORD) throw new Error('set KEYCLOAK_URL and KEYCLOAK_ADMIN_PASSWORD (and KEYCLOAK_ADMIN, KEYCLOAK_REALM, PORTAL_ORIGINS)');
      const portalOrigins = (e.PORTAL_ORIGINS ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter((o) => o.length > 0);
      await provisionStepUp(await keycloakAdmin(e.KEYCLOAK_URL.replace(/\/$/, ''), e.KEYCLOAK_REALM ?? 'atoll', e.KEYCLOAK_ADMIN_PASSWORD, e.KEYCLOAK_ADMIN ?? 'admin'), { portalOrigins });
      process.stdout.write(`step-up configured: browser flow "atoll browser", acr password=1 / mfa=2, client atoll-console${portalOrigins.length ? `, client atoll-portal for ${portalOrigins.join(', ')}` : ''}\n`);
      return 0;
    }
    case 'versions':
      process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
      return 0;
    case 'start': {
      await up({ apps: true });
      await printStatus();
      const { runDemo } = await import('./demo.js');
      await runDemo({ out: (line) => process.stdout.write(`${line}\n`) });
      process.stdout.write(`\nThe stack keeps running. Environment: ${paths.envFile}. Press Ctrl-C to stop it.\n`);
      // Signal listeners alone do not keep Node's event loop alive; this timer does until a signal arrives.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => {
        let stopping = 0;
        const stop = (signal: NodeJS.Signals) => {
          // Ctrl-C reaches every process of the terminal's group, so one keypress can arrive twice: only a signal
          // more than a second after the first means "force".
          if (stopping && Date.now() - stopping > 1000) {
            process.stderr.write(`\n${signal} again: leaving the stack as it is; "npm run stack -- down" stops it\n`);
            process.exit(130);
          }
          if (!stopping) {
            stopping = Date.now();
            resolve();
          }
        };
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);
      });
      clearInterval(keepAlive);
      process.stdout.write('\nstopping the stack...\n');
      await down();
      process.stdout.write('stopped.\n');
      return 0;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[stack] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
