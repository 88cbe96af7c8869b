// How every JS suite and the benchmarks start headless Chromium: Debian's binary (never a
// downloaded browser), with the flags this machine needs. The caller passes its own
// playwright-core `chromium` (this directory has no node_modules to resolve it from).

/** The one environment variable naming the Chromium binary. */
export const CHROMIUM_ENV = 'CHROMIUM_BIN'

/**
 * Headless, no sandbox (containers run as root), no GPU, and none of Chromium's background
 * networking: without those flags it floods this closed network with lookups.
 */
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
])

/** The Chromium binary: `$CHROMIUM_BIN`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath() {
  return process.env[CHROMIUM_ENV] || '/usr/bin/chromium'
}

/** Options for playwright-core's `chromium.launch` (and the bench's own CDP launcher). */
export function chromiumLaunchOptions() {
  return { executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS] }
}

/**
 * Launches Chromium through the caller's playwright-core.
 * @param {{ launch(options: object): Promise<any> }} chromium `import { chromium } from 'playwright-core'`
 */
export function launchChromium(chromium) {
  return chromium.launch(chromiumLaunchOptions())
}
