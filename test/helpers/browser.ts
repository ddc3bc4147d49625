/**
 * Debian's Chromium driven by playwright-core, with a fresh profile each time. Without
 * /usr/bin/chromium a test is skipped with the reason, unless PORTWATCH_REQUIRE_BROWSER=1
 * (CI), when it fails.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Viewport and touch settings, as playwright takes them. */
export interface Device {
  viewport?: { width: number; height: number };
  isMobile?: boolean;
  hasTouch?: boolean;
}

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function browserAvailable(ctx: { skip: () => void }): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.PORTWATCH_REQUIRE_BROWSER === '1') throw new Error(`${CHROMIUM} is missing and PORTWATCH_REQUIRE_BROWSER=1`);
  console.warn(`skipped: ${CHROMIUM} is not installed (apt-get install chromium); set PORTWATCH_REQUIRE_BROWSER=1 to make this a failure`);
  ctx.skip();
  return false;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A browser with a fresh profile (user-data-dir), removed by close(). */
export async function launchBrowser(device: Device = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'portwatch-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, ...device });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
