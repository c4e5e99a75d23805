// Debian's chromium driven by playwright-core, as the status page's browser test (and the integrator's run against
// the real service) needs it: headless, no sandbox (tests run as root), nothing that phones home, a fresh profile per
// run; axe-core injected from node_modules into the page; screenshots into test-artifacts/ (gitignored).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, BrowserContext, Page } from "playwright-core";

export const CHROMIUM = process.env.QA_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS_DIR = path.resolve(__dirname, "../../../test-artifacts");

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A browser with its own temporary profile (cookies of one run never leak into the next); close() removes it. */
export async function startBrowser(): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "qa-page-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

/** Runs axe-core inside the page (its source read from node_modules: no CDN) and returns its violations. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not apply to: the page
  // keeps its real CSP during the check (a <script> tag would be refused, rightly).
  await page.evaluate(fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8"));
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
}

/** Saves a full-page screenshot as test-artifacts/<name>.png, prints and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`    screenshot: ${file}`);
  return file;
}
