import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium (installed by .ci/deps), driven headless by playwright-core, which never
 * downloads a browser of its own. Playwright gives each launch a fresh profile directory.
 */
export const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

/** Without the background-networking flags chromium dials out, and this machine's closed network refuses it. */
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

/** Why no browser test can run here, or null when one can. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `no browser at ${CHROMIUM_PATH} (bash .ci/deps installs Debian's chromium; SLUICE_CHROMIUM names another)`;
}

/** Starts headless chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
