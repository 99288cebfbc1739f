// A real browser for the portal tests: Debian's Chromium driven by playwright-core (Playwright's own browser download
// cannot work here), axe-core run inside each page, a screenshot of each page under test/artifacts/ for reviewers, and
// a person signing in through Keycloak's real login page.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { totp, type Person } from './step-up.js';

export const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');

/** Installs Chromium from Debian when it is missing (scripts/ensure-chromium.mjs) and returns its path. */
export function chromiumPath(): string {
  return execFileSync(process.execPath, [join(process.cwd(), 'scripts', 'ensure-chromium.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export async function launch(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Chromium's sandbox needs user namespaces that a root process in this container does not get.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

export interface PortalTab {
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy violations and uncaught page errors seen so far. */
  faults: string[];
}

export async function openTab(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<PortalTab> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const faults: string[] = [];
  page.on('pageerror', (e) => faults.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) faults.push(`CSP: ${m.text()}`);
  });
  return { context, page, faults };
}

/** Signs `person` in from the portal's start page through Keycloak's login form (and the one-time code if asked). */
export async function signInThroughPortal(page: Page, apiUrl: string, person: Person, hash = ''): Promise<void> {
  await page.goto(`${apiUrl}/portal/${hash}`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#username');
  await page.fill('#username', person.username);
  await page.fill('#password', person.password);
  await page.click('#kc-login');
  await completeOtpIfAsked(page, person);
  await page.waitForURL(`${apiUrl}/portal/**`);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Gives Keycloak the person's one-time code when its form asks for one; `required` fails when it does not. */
export async function completeOtpIfAsked(page: Page, person: Person, required = false): Promise<void> {
  const otp = page.locator('#otp');
  // The loser of the race times out later: its rejection is caught here, not left unhandled.
  const back = page.waitForURL((u) => u.pathname.startsWith('/portal/'), { timeout: 30_000 }).then(() => 'portal' as const, () => 'timeout' as const);
  const asked = otp.waitFor({ timeout: 30_000 }).then(() => 'otp' as const, () => 'timeout' as const);
  const first = await Promise.race([back, asked]);
  if (first === 'otp') {
    await otp.fill(totp(person.otpSecret));
    await page.click('#kc-login');
    await page.waitForURL((u) => u.pathname.startsWith('/portal/'), { timeout: 30_000 });
  } else if (required || first === 'timeout') {
    throw new Error(`Keycloak did not ask for the one-time code (${first}) at ${page.url()}`);
  }
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA rules) in the page and returns the serious and critical violations. The script
 * goes in through the DevTools protocol, so the page's own CSP (no inline scripts) stays untouched.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const g = globalThis as unknown as { document: unknown; axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> } };
    const r = await g.axe.run(g.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact}: ${v.id} (${v.help}) at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

/** Writes test/artifacts/portal-<name>.png (full page). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `portal-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Waits until the locator's text is `expected` (a string: exactly, trimmed) or matches it (a RegExp), then asserts it,
 * so a failure shows the text the page really had.
 */
export async function textOf(locator: Locator, expected: string | RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let text: string;
  for (;;) {
    text = ((await locator.first().textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null)) ?? '').trim();
    if (typeof expected === 'string' ? text === expected : expected.test(text)) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (typeof expected === 'string') expect(text).toBe(expected);
  else expect(text).toMatch(expected);
}
