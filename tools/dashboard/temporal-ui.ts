/**
 * Screenshots of the Temporal Web UI in headless Chromium (playwright-core driving the system's Chromium; it
 * downloads no browser): what an operator sees of a billing cycle — its summary and details, and the billing words
 * on its timers and activities.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's /usr/bin/chromium is a shell wrapper; the browser itself lives under /usr/lib/chromium. */
const CHROMIUM_CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function findChromium(explicit?: string): string | undefined {
  if (explicit) return explicit;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p));
}

export interface UiShot {
  /** Path under the UI, e.g. `/namespaces/default/workflows/cycle:x:0`. */
  path: string;
  file: string;
  /** A tab of the workflow page to open first (its visible label), e.g. "User Metadata". */
  tab?: string;
  /** Text that must be on the page before the picture is taken (the page has loaded the workflow). */
  waitForText: string;
  /** Text that must show once the tab is open. */
  tabText?: string;
  /** Scroll so that the heading with this name (e.g. "Timeline") is at the top of the window. */
  scrollTo?: string;
}

export async function captureTemporalUi(opts: {
  uiUrl: string;
  chromium: string;
  outDir: string;
  shots: UiShot[];
}): Promise<string[]> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: opts.chromium, args: ['--no-sandbox'] });
  const written: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
    for (const shot of opts.shots) {
      // The UI polls while a workflow runs, so the network never goes idle: wait for content instead.
      await page.goto(`${opts.uiUrl}${shot.path}`, { waitUntil: 'load', timeout: 60_000 });
      await page.getByText(shot.waitForText, { exact: false }).first().waitFor({ timeout: 60_000 });
      if (shot.tab) {
        await page
          .getByRole('link', { name: shot.tab })
          .or(page.getByRole('tab', { name: shot.tab }))
          .first()
          .click();
        if (shot.tabText) await page.getByText(shot.tabText).first().waitFor({ timeout: 30_000 });
      }
      if (shot.scrollTo) {
        const box = await page.getByRole('heading', { name: shot.scrollTo }).first().boundingBox();
        if (box) await page.mouse.wheel(0, box.y - 16);
      }
      await page.waitForTimeout(2_500); // decoded payloads and the timeline draw after the first paint
      const file = join(opts.outDir, shot.file);
      await page.screenshot({ path: file });
      written.push(file);
    }
  } finally {
    await browser.close();
  }
  return written;
}
