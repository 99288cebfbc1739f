// `npm run stack -- up|down|status|install` and `npm start` (up + demo, then wait for Ctrl-C).
import { paths } from './paths.js';
import { down, status, up } from './stack.js';
import { versions } from './versions.js';
import { installStack } from './install.js';

const usage = 'usage: npm run stack -- up [--no-apps] | down | status | install | versions';

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
    case 'versions':
      process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
      return 0;
    case 'start': {
      await up({ apps: true });
      await printStatus();
      const { runDemo } = await import('./demo.js');
      await runDemo({ out: (line) => process.stdout.write(`${line}\n`) });
      process.stdout.write(`\nThe stack keeps running. Environment: ${paths.envFile}. Press Ctrl-C to stop it.\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stdout.write('\nstopping the stack...\n');
      await down();
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
