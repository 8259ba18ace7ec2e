/**
 * Headless Chromium from Debian (/usr/bin/chromium), driven by playwright-core: nothing
 * downloads a browser. Each launch gets a fresh profile directory, removed on close. The
 * page's own Content-Security-Policy stays in force (no bypassCSP): a violation or a script
 * error is recorded, and the suite asserts there was none.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from '../../support/index.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots of the views land here (gitignored). */
export const ARTIFACTS_DIR = new URL('../../../test-artifacts/console/', import.meta.url).pathname;

export interface Browser {
  readonly context: BrowserContext;
  /** CSP violations, uncaught page errors and console errors, as they happened. */
  readonly problems: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = tempDir('fedstack-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 },
  });
  const problems: string[] = [];
  // Everything the console needs comes from the service on loopback: anything else is a bug.
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    async (route) => {
      problems.push(`request off loopback: ${route.request().url()}`);
      await route.abort();
    },
  );
  const watch = (page: Page) => {
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
  };
  context.on('page', watch);
  return {
    context,
    problems,
    newPage: async () => {
      const page = await context.newPage();
      // A CSP violation also fires this event in the page: record it with what was blocked.
      await page.addInitScript(
        `document.addEventListener('securitypolicyviolation', (e) =>
           console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));`,
      );
      return page;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const require = createRequire(import.meta.url);
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: readonly string[];
}

/**
 * axe-core from node_modules, evaluated in the page through the DevTools protocol (a script
 * tag would be refused by the page's CSP, as it should be). WCAG 2.x A and AA rules.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  // A string, not a function: the page's globals (axe, document) are not this program's types.
  return page.evaluate(`axe
    .run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(AXE_TAGS)} } })
    .then((r) => r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    })))`) as Promise<AxeViolation[]>;
}

/** A full-page screenshot of the current view into ARTIFACTS_DIR/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
