import { chromium, type Browser } from 'playwright-core';

/**
 * Headless Chromium as the browser tests run it: Debian's `chromium` (CHROMIUM_PATH to use another), without the
 * features that reach out to the network or need a GPU.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
