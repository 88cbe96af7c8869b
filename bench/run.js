// The benchmark harness behind `cargo xtask bench`: the release reference server, headless
// Chromium (Debian's, driven by lib/cdp.js or playwright-core) and one bench page that runs each
// client in turn against the same server: ours (the npm package), the upstream-equivalent stack,
// and a raw WebSocket floor. Prints a markdown table and writes it, with every sample, to --out.
//
//   node run.js [--quick] [--runs N] [--only throughput,large,...] [--server BIN]
//               [--native BIN] [--pkg DIR] [--baseline-pkg DIR] [--out DIR]
//               [--driver cdp|playwright]
//
// --quick is the smoke run (tiny sizes, one run) that `cargo xtask test` includes.
// --driver picks what drives Chromium: `cdp` (the default, the headline figures) never enables
// the DevTools Network domain; `playwright` does, in every page and worker, so Chromium copies
// each WebSocket frame to the driver on the socket's thread, inside the measurement.
// --baseline-pkg DIR adds `ours-before`, the package built in DIR (an earlier build of it), run
// exactly like `ours` in the same pages and runs, and its sizes: before/after figures side by side.

import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join, resolve } from 'node:path'

import { chromiumLaunchOptions } from '../test-support/chromium.js'
import { launch } from './lib/cdp.js'
import { publish, startBenchServer } from './lib/server.js'
import { buildSite, REPO_ROOT } from './lib/site.js'
import { sizes } from './lib/sizes.js'
import { baselineLabel, CLIENTS, LABELS, report } from './lib/report.js'
import { median, percentile } from './lib/stats.js'
import { workerHeapBytes } from './lib/worker-heap.js'

const DRIVERS = ['cdp', 'playwright']
const SCENARIOS = ['size', 'throughput', 'large', 'latency', 'recovery', 'fanout', 'native', 'memory']

const FULL = {
  runs: 3,
  throughput: { count: 100_000, size: 100 },
  large: { count: 2_000, size: 64 * 1024 },
  latency: { count: 5_000, rate: 1_000, size: 100 },
  recovery: { drops: 20, gapMs: 6_000, rate: 100 },
  fanout: { iterators: 100, count: 1_000, size: 100 },
  native: { sockets: 1_000, events: 500, rate: 100, size: 100 },
  memory: { warmup: 20_000, count: 1_000_000, size: 100, clients: ['ours', 'floor'] },
}

const QUICK = {
  runs: 1,
  throughput: { count: 2_000, size: 100 },
  large: { count: 20, size: 64 * 1024 },
  latency: { count: 200, rate: 1_000, size: 100 },
  recovery: { drops: 1, gapMs: 300, rate: 100 },
  fanout: { iterators: 5, count: 50, size: 100 },
  native: { sockets: 20, events: 20, rate: 100, size: 100 },
  memory: { warmup: 500, count: 5_000, size: 100, clients: ['ours', 'floor'] },
}


function parseArgs(argv) {
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR) : join(REPO_ROOT, 'target')
  const options = {
    quick: false,
    runs: undefined,
    only: SCENARIOS,
    server: join(target, 'release', 'durable-iterator-server'),
    native: join(target, 'release', 'examples', 'bench_fanout'),
    pkg: join(REPO_ROOT, 'pkg'),
    out: join(target, 'bench'),
    driver: 'cdp',
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`)
      return argv[++i]
    }
    if (flag === '--quick') options.quick = true
    else if (flag === '--runs') options.runs = Number(value())
    else if (flag === '--only') options.only = value().split(',')
    else if (flag === '--server') options.server = resolve(value())
    else if (flag === '--native') options.native = resolve(value())
    else if (flag === '--pkg') options.pkg = resolve(value())
    else if (flag === '--baseline-pkg') options.baselinePkg = resolve(value())
    else if (flag === '--out') options.out = resolve(value())
    else if (flag === '--with-page-socket') options.withPageSocket = true
    else if (flag === '--driver') options.driver = value()
    else throw new Error(`unknown option ${flag}`)
  }
  const unknown = options.only.filter(s => !SCENARIOS.includes(s))
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`)
  if (!DRIVERS.includes(options.driver)) throw new Error(`unknown driver ${options.driver} (known: ${DRIVERS.join(', ')})`)
  return options
}

/** Chromium through `driver`; both give the same API (lib/cdp.js implements what this file uses). */
async function launchBrowser(driver) {
  if (driver === 'cdp') return launch(chromiumLaunchOptions())
  // Loaded only when asked for: the default run does not need it.
  const { chromium } = await import('playwright-core')
  return chromium.launch(chromiumLaunchOptions())
}

let channelSerial = 0
const channel = label => `bench-${label}-${process.pid}-${++channelSerial}`
const sleep = ms => new Promise(r => setTimeout(r, ms))
const log = (...args) => console.log(...args)

/** Everything one scenario needs: a fresh page per measurement, the server, the config. */
class Bench {
  constructor(browser, server, config) {
    this.browser = browser
    this.server = server
    this.config = config
  }

  async page() {
    const context = await this.browser.newContext()
    const page = await context.newPage()
    page.problems = []
    page.on('pageerror', error => page.problems.push(error.stack ?? error.message))
    await page.goto(`${this.server.baseUrl}/bench.html`)
    await page.waitForFunction(() => window.ready !== undefined, null, { timeout: 15_000 })
    await page.evaluate(() => window.ready)
    return { page, close: () => context.close() }
  }

  /** Opens `iterators` clients on a fresh channel and waits until the server has them all. */
  async open(page, client, label, { iterators = 1, ...collector }) {
    const chn = channel(label)
    const handle = await page.evaluate(
      ([c, url, token, n, o]) => window.bench.open(c, url, token, n, o),
      [client, this.server.objectUrl, this.server.token(chn), iterators, collector],
    )
    await this.server.waitSubscribedCount(iterators, { channel: chn })
    return { chn, handle }
  }

  /** Publishes a burst or paced stream and waits for every delivery. */
  async deliver(client, label, { iterators = 1, count, size, rate, stamp = false, latency = false, timeoutMs }) {
    const { page, close } = await this.page()
    try {
      const { chn, handle } = await this.open(page, client, label, { iterators, expected: count * iterators, latency })
      const published = publish(this.server, chn, { count, size, rate, stamp })
      const result = await page.evaluate(([h, ms]) => window.bench.wait(h, ms), [handle, timeoutMs])
      await published
      await page.evaluate(h => window.bench.close(h), handle)
      if (page.problems.length) throw new Error(`page errors: ${page.problems.join('\n')}`)
      return result
    }
    finally {
      await close()
    }
  }
}

/** Runs `measure(client, run)` for every run and client (clients interleaved within a run). */
async function perClient(bench, name, measure, clients = bench.config.clients ?? CLIENTS) {
  const samples = Object.fromEntries(clients.map(c => [c, []]))
  for (let run = 1; run <= bench.config.runs; run++) {
    for (const client of clients) {
      const sample = await measure(client, run)
      samples[client].push(sample)
      log(`  ${name} run ${run} ${LABELS[client]}: ${JSON.stringify(sample)}`)
    }
  }
  return samples
}

async function throughput(bench) {
  const { count, size } = bench.config.throughput
  return perClient(bench, 'throughput', async (client) => {
    const r = await bench.deliver(client, 'tp', { count, size, timeoutMs: 600_000 })
    return { eventsPerSecond: (r.count - 1) / r.seconds }
  })
}

async function large(bench) {
  const { count, size } = bench.config.large
  return perClient(bench, 'large', async (client) => {
    const r = await bench.deliver(client, 'large', { count, size, timeoutMs: 600_000 })
    return { mbPerSecond: ((r.count - 1) * size) / r.seconds / 1e6 }
  })
}

async function latency(bench) {
  const { count, rate, size } = bench.config.latency
  return perClient(bench, 'latency', async (client) => {
    const r = await bench.deliver(client, 'lat', { count, size, rate, stamp: true, latency: true, timeoutMs: 600_000 })
    // The first 5% are warm-up (JIT, first allocations).
    const steady = r.latencies.slice(Math.floor(r.latencies.length / 20))
    return { p50Ms: percentile(steady, 50), p99Ms: percentile(steady, 99) }
  })
}

async function fanout(bench) {
  const { iterators, count, size } = bench.config.fanout
  return perClient(bench, 'fanout', async (client) => {
    const r = await bench.deliver(client, 'fan', { iterators, count, size, timeoutMs: 600_000 })
    return { deliveriesPerSecond: (r.count - 1) / r.seconds }
  })
}

/** Drops the sockets while publishing at a steady rate; one series of drops per client. */
async function recovery(bench) {
  const { drops, gapMs, rate } = bench.config.recovery
  // The floor has no recovery at all; `ours-page` runs in the four delivery scenarios only.
  const clients = (bench.config.clients ?? CLIENTS).filter(c => c !== 'floor' && c !== 'ours-page')
  const samples = {}
  for (const client of clients) {
    const { page, close } = await bench.page()
    try {
      const { chn, handle } = await bench.open(page, client, 'rec', { expected: Infinity, keys: true })
      let stop = false
      let published = 0
      const publisher = (async () => {
        while (!stop) published += (await publish(bench.server, chn, { count: rate, size: 100, rate, stamp: true })).published
      })()
      const { times } = await page.evaluate(
        ([h, c, o]) => window.bench.recovery(h, c, o),
        [handle, chn, { drops, gapMs, timeoutMs: 60_000 }],
      )
      stop = true
      await publisher
      const keys = await page.evaluate(([h, ms]) => window.bench.arrivals(h, ms), [handle, 2_000])
      await page.evaluate(h => window.bench.close(h), handle)
      const unique = new Set(keys).size
      samples[client] = [{
        medianMs: median(times),
        maxMs: Math.max(...times),
        drops: times.length,
        published,
        lost: published - unique,
        duplicated: keys.length - unique,
        times,
      }]
      log(`  recovery ${LABELS[client]}: ${JSON.stringify(samples[client][0])}`)
    }
    finally {
      await close()
    }
  }
  return samples
}

/** The clients that run a package, whose wasm memory the page can report. */
const hasWasm = client => client === 'ours' || client === 'ours-before'

/** JS heap of the page and its workers (after a forced GC) and wasm memory before and after many events. */
async function memory(bench) {
  const { warmup, count, size, clients } = bench.config.memory
  const samples = {}
  let failed
  for (const client of clients) {
    const { page, close } = await bench.page()
    try {
      const cdp = await page.context().newCDPSession(page)
      const heap = async () => {
        await cdp.send('HeapProfiler.collectGarbage')
        await cdp.send('HeapProfiler.collectGarbage')
        return (await cdp.send('Runtime.getHeapUsage')).usedSize
      }
      const wasm = () => page.evaluate(c => window.bench.wasmMemoryBytes(c), client)
      // The package's socket worker holds frames between the socket and the page.
      const workers = () => workerHeapBytes(cdp)
      const { chn, handle } = await bench.open(page, client, 'mem', { expected: warmup + count })
      await publish(bench.server, chn, { count: warmup, size })
      await page.evaluate(([h, n]) => window.bench.wait(h, 600_000, n), [handle, warmup])
      const before = { heap: await heap(), wasm: await wasm(), workers: await workers() }
      const started = Date.now()
      await publish(bench.server, chn, { count, size })
      await page.evaluate(([h, n]) => window.bench.wait(h, 1_800_000, n), [handle, warmup + count])
      const after = { heap: await heap(), wasm: await wasm(), workers: await workers() }
      await page.evaluate(h => window.bench.close(h), handle)
      samples[client] = [{
        events: count,
        heapBeforeKB: before.heap / 1024,
        heapAfterKB: after.heap / 1024,
        wasmBeforeKB: hasWasm(client) ? before.wasm / 1024 : Number.NaN,
        wasmAfterKB: hasWasm(client) ? after.wasm / 1024 : Number.NaN,
        workerHeapBeforeKB: before.workers / 1024,
        workerHeapAfterKB: after.workers / 1024,
        seconds: (Date.now() - started) / 1000,
      }]
      log(`  memory ${LABELS[client]}: ${JSON.stringify(samples[client][0])}`)
    }
    catch (error) {
      failed ??= error
      failed.partial = samples
    }
    finally {
      await close()
    }
  }
  if (failed) throw failed
  return samples
}

/** 1,000 sockets from the native client (server/examples/bench_fanout.rs). */
async function native(bench, options) {
  const { sockets, events, rate, size } = bench.config.native
  const runs = []
  for (let run = 1; run <= Math.min(bench.config.runs, 3); run++) {
    const output = await new Promise((resolveRun, reject) => {
      const child = spawn(options.native, [
        '--url', bench.server.baseUrl, '--key', bench.server.signingKey,
        '--sockets', String(sockets), '--events', String(events), '--rate', String(rate), '--size', String(size),
      ], { stdio: ['ignore', 'pipe', 'inherit'] })
      let stdout = ''
      child.stdout.on('data', (chunk) => { stdout += chunk })
      child.once('error', reject)
      child.once('exit', code => code === 0 ? resolveRun(stdout) : reject(new Error(`bench_fanout exited with ${code}`)))
    })
    const sample = JSON.parse(output.trim().split('\n').at(-1))
    runs.push(sample)
    log(`  native run ${run}: ${JSON.stringify(sample)}`)
  }
  return { native: runs }
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  const config = { ...(options.quick ? QUICK : FULL) }
  if (options.runs) config.runs = options.runs
  // `ours-page` is the package with its socket on the page (`offMainThread: false`): what the
  // socket worker gains, measured in the same run.
  if (options.withPageSocket) config.clients = ['ours', 'ours-page', ...CLIENTS.slice(1)]
  // `ours-before` is the package from --baseline-pkg, right after `ours` in every run.
  if (options.baselinePkg) {
    const clients = config.clients ?? CLIENTS
    config.clients = [...clients.slice(0, clients.indexOf('ours') + 1), 'ours-before', ...clients.slice(clients.indexOf('ours') + 1)]
    config.memory = { ...config.memory, clients: ['ours', 'ours-before', ...config.memory.clients.slice(1)] }
    LABELS['ours-before'] = baselineLabel(options.baselinePkg)
  }
  const meta = {
    quick: options.quick,
    driver: options.driver,
    runs: config.runs,
    baselinePkg: options.baselinePkg,
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadStart: os.loadavg().map(l => l.toFixed(2)).join(' '),
    config,
  }
  const site = await buildSite(options.pkg, options.baselinePkg)
  const server = await startBenchServer({ binary: options.server, staticDir: site.dir })
  let browser
  const results = {}
  const failures = []
  try {
    browser = await launchBrowser(options.driver)
    meta.chromium = browser.version()
    const bench = new Bench(browser, server, config)
    const scenarios = { throughput, large, latency, recovery, fanout, native: b => native(b, options), memory }
    for (const name of options.only) {
      log(`==> ${name}`)
      const started = Date.now()
      try {
        results[name] = name === 'size' ? await sizes(options.pkg, options.baselinePkg) : await scenarios[name](bench)
        if (name === 'size') log(`  ${JSON.stringify(results.size)}`)
      }
      catch (error) {
        // One failed measurement must not lose the others: it is reported, and the run fails.
        if (error.partial) results[name] = error.partial
        failures.push(`${name}: ${error.message ?? error}`)
        log(`  FAILED: ${error.stack ?? error}`)
      }
      log(`    (${((Date.now() - started) / 1000).toFixed(1)} s)`)
      write(options.out, meta, results)
    }
  }
  finally {
    await browser?.close().catch(() => {})
    await server.stop()
    site.remove()
  }
  const table = write(options.out, meta, results)
  log(`\n${table}\n\nwritten to ${join(options.out, 'results.md')} and results.json`)
  if (failures.length) {
    console.error(`\n${failures.length} scenario(s) failed:\n  ${failures.join('\n  ')}`)
    process.exitCode = 1
  }
}

/** Writes results.json and results.md (after every scenario, so a failure loses nothing). */
function write(out, meta, results) {
  meta.loadEnd = os.loadavg().map(l => l.toFixed(2)).join(' ')
  const table = report(results, meta)
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'results.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`)
  writeFileSync(join(out, 'results.md'), `${table}\n`)
  return table
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
