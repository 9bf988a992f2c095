/**
 * The console in a real browser: headless Chromium (Debian's, driven by playwright-core; CI installs it, see .ci/run)
 * signs in with a merchant key, finds a subscription by its customer, opens its page, and checks that the page runs
 * under the CSP without a single violation. With CONSOLE_SCREENSHOTS=1 it also writes the overview and the
 * subscription page to docs/ (the pictures docs/console.md shows).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createTestBooks, type TestBooks } from '../../support/records';
import { buildConsoleApp, MERCHANT_KEY, recordingBilling, seedConsoleBooks } from '../../support/console-stack';

/** Debian's /usr/bin/chromium is a shell wrapper; the browser itself lives under /usr/lib/chromium. */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(
  (p): p is string => !!p && existsSync(p),
);
// Required in CI; a machine without chromium skips this test and says so.
const itWithBrowser = CHROMIUM || process.env.CI ? it : it.skip;
if (!CHROMIUM && !process.env.CI) {
  console.log('no chromium (apt-get install chromium): the console browser test is skipped');
}

let books: TestBooks;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  books = await createTestBooks();
  await seedConsoleBooks(books.db);
  app = await buildConsoleApp(
    books.db,
    recordingBilling([], {
      live: {
        sub_alpha: {
          subscriptionId: 'sub_alpha',
          customerId: 'cust-alice',
          status: 'active',
          plan: {
            planId: 'pro-monthly',
            currency: 'EUR',
            lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }],
          },
          nextPeriodIndex: 2,
          nextChargeAt: new Date(Date.now() + 12 * 86_400_000).toISOString(),
          paymentMethod: '…4242',
        },
      },
    }),
  );
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await books?.drop();
});

itWithBrowser('signs in, finds a subscription by customer and opens its page, with no CSP violation', async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  const shots = process.env.CONSOLE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', '..', 'docs') : undefined;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`${url}/`.replace(/\/$/, '/console'));
    await page.getByLabel(/API key/).fill(MERCHANT_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.getByText('Action required: the card was declined for good').count()).toBe(1);
    if (shots) await page.screenshot({ path: join(shots, 'console-overview.png'), fullPage: true });

    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await page.getByLabel(/Subscription or customer/).fill('cust-ali');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'sub_alpha' }).click();
    await page.getByRole('heading', { name: /Subscription sub_alpha/ }).waitFor();
    const text = await page.locator('main').innerText();
    expect(text).toContain('cust-alice');
    expect(text).toContain('…4242');
    expect(text).toContain('19.99 EUR');
    // The stylesheet applied (the CSP allows the console's own): the header is dark.
    const bg = await page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor");
    expect(bg).toBe('rgb(17, 24, 39)');
    if (shots) await page.screenshot({ path: join(shots, 'console-subscription.png'), fullPage: true });

    // The session cookie is HTTP-only: the page's script context cannot read it.
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(violations).toEqual([]);
  } finally {
    await browser.close();
  }
});
