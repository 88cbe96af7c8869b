// The benchmark harness behind `cargo xtask bench`: the release reference server, headless
// Chromium (Debian's, through playwright-core) and one bench page that runs each client in turn
// against the same server: ours (the npm package), the upstream-equivalent stack, and a raw
// WebSocket floor. Prints a markdown table and writes it, with every sample, to --out.
//
//   node run.js [--quick] [--runs N] [--only throughput,large,...] [--server BIN]
//               [--native BIN] [--pkg DIR] [--out DIR]
//
// --quick is the smoke run (tiny sizes, one run) that `cargo xtask test` includes.

import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'

import { startServer } from './lib/server.js'
import { buildSite, REPO_ROOT } from './lib/site.js'
import { sizes } from './lib/sizes.js'
import { median, percentile } from './lib/stats.js'

const CLIENTS = ['ours', 'upstream', 'floor']
const LABELS = { ours: 'ours', upstream: 'upstream-eq', floor: 'floor' }
const SCENARIOS = ['size', 'throughput', 'large', 'latency', 'recovery', 'fanout', 'native', 'memory']

const FULL = {
  runs: 5,
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

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

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
    else if (flag === '--out') options.out = resolve(value())
    else throw new Error(`unknown option ${flag}`)
  }
  const unknown = options.only.filter(s => !SCENARIOS.includes(s))
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`)
  return options
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
    await this.server.waitSubscribed(chn, iterators)
    return { chn, handle }
  }

  /** Publishes a burst or paced stream and waits for every delivery. */
  async deliver(client, label, { iterators = 1, count, size, rate, stamp = false, latency = false, timeoutMs }) {
    const { page, close } = await this.page()
    try {
      const { chn, handle } = await this.open(page, client, label, { iterators, expected: count * iterators, latency })
      const published = this.server.publish(chn, { count, size, rate, stamp })
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
async function perClient(bench, name, measure, clients = CLIENTS) {
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
  const clients = CLIENTS.filter(c => c !== 'floor') // the floor has no recovery at all
  const samples = {}
  for (const client of clients) {
    const { page, close } = await bench.page()
    try {
      const { chn, handle } = await bench.open(page, client, 'rec', { expected: Infinity, keys: true })
      let stop = false
      let published = 0
      const publisher = (async () => {
        while (!stop) published += (await bench.server.publish(chn, { count: rate, size: 100, rate, stamp: true })).published
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

/** JS heap (after a forced GC) and wasm memory before and after many events. */
async function memory(bench) {
  const { warmup, count, size, clients } = bench.config.memory
  const samples = {}
  for (const client of clients) {
    const { page, close } = await bench.page()
    try {
      const cdp = await page.context().newCDPSession(page)
      const heap = async () => {
        await cdp.send('HeapProfiler.collectGarbage')
        await cdp.send('HeapProfiler.collectGarbage')
        return (await cdp.send('Runtime.getHeapUsage')).usedSize
      }
      const wasm = () => page.evaluate(() => window.bench.wasmMemoryBytes())
      const { chn, handle } = await bench.open(page, client, 'mem', { expected: warmup + count })
      await bench.server.publish(chn, { count: warmup, size })
      await page.evaluate(([h, n]) => window.bench.wait(h, 600_000, n), [handle, warmup])
      const before = { heap: await heap(), wasm: await wasm() }
      const started = Date.now()
      await bench.server.publish(chn, { count, size })
      await page.evaluate(([h, n]) => window.bench.wait(h, 1_800_000, n), [handle, warmup + count])
      const after = { heap: await heap(), wasm: await wasm() }
      await page.evaluate(h => window.bench.close(h), handle)
      samples[client] = [{
        events: count,
        heapBeforeKB: before.heap / 1024,
        heapAfterKB: after.heap / 1024,
        wasmBeforeKB: client === 'ours' ? before.wasm / 1024 : Number.NaN,
        wasmAfterKB: client === 'ours' ? after.wasm / 1024 : Number.NaN,
        seconds: (Date.now() - started) / 1000,
      }]
      log(`  memory ${LABELS[client]}: ${JSON.stringify(samples[client][0])}`)
    }
    finally {
      await close()
    }
  }
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

// ---- report ----

const fmt = (value, digits = 0) => Number.isFinite(value)
  ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
  : 'n/a'
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0) ? `${(a / b).toFixed(2)}x` : 'n/a'
const kb = bytes => `${(bytes / 1024).toFixed(1)} KB`

/** Median of field `key` over one client's samples. */
const med = (samples, client, key) => median((samples?.[client] ?? []).map(s => s[key]))

function report(results, meta) {
  const lines = []
  const row = cells => lines.push(`| ${cells.join(' | ')} |`)
  lines.push(`Mode: ${meta.quick ? 'quick (smoke sizes, not a measurement)' : 'full'}; runs per scenario: ${meta.runs}; ${meta.date}`)
  lines.push(`Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memoryGB} GB; ${meta.os}; Node ${meta.node}; Chromium ${meta.chromium}; load average at start ${meta.loadStart}, at end ${meta.loadEnd}`)
  lines.push('')
  row(['scenario', 'metric', 'ours', 'upstream-eq', 'floor', 'ours / upstream-eq', 'ours / floor'])
  row(['---', '---', '---:', '---:', '---:', '---:', '---:'])
  const compare = (scenario, metric, samples, key, digits, better) => {
    if (!samples) return
    const [o, u, f] = CLIENTS.map(c => med(samples, c, key))
    row([scenario, `${metric} (${better} is better)`, fmt(o, digits), fmt(u, digits), fmt(f, digits), ratio(o, u), ratio(o, f)])
  }
  const c = meta.config
  compare(`throughput: ${fmt(c.throughput.count)} x ${c.throughput.size} B, 1 iterator`, 'events/s', results.throughput, 'eventsPerSecond', 0, 'higher')
  compare(`large events: ${fmt(c.large.count)} x ${c.large.size / 1024} KB`, 'MB/s', results.large, 'mbPerSecond', 1, 'higher')
  compare(`latency at ${fmt(c.latency.rate)} events/s (${fmt(c.latency.count)} events)`, 'p50 ms', results.latency, 'p50Ms', 2, 'lower')
  compare(`latency at ${fmt(c.latency.rate)} events/s (${fmt(c.latency.count)} events)`, 'p99 ms', results.latency, 'p99Ms', 2, 'lower')
  if (results.recovery) {
    const r = results.recovery
    const cell = (client, key) => fmt(r[client]?.[0]?.[key], 0)
    compare(`recovery: ${c.recovery.drops} server drops at ${c.recovery.rate} events/s`, 'median ms to next event', r, 'medianMs', 0, 'lower')
    row(['', 'lost / duplicated events', `${cell('ours', 'lost')} / ${cell('ours', 'duplicated')}`, `${cell('upstream', 'lost')} / ${cell('upstream', 'duplicated')}`, 'n/a (no recovery)', '', ''])
  }
  compare(`fan-out: ${c.fanout.iterators} iterators in one page, ${fmt(c.fanout.count)} events`, 'deliveries/s', results.fanout, 'deliveriesPerSecond', 0, 'higher')
  if (results.native) {
    const n = results.native.native
    const m = key => fmt(median(n.map(s => s[key])), 2)
    row([`fan-out: ${fmt(c.native.sockets)} sockets, native client, ${c.native.rate} events/s`, 'server publish-to-delivery p50 / p99 / max ms', `${m('p50Ms')} / ${m('p99Ms')} / ${m('maxMs')}`, '', '', `lost: ${n.map(s => s.lost).join(', ')}`, ''])
  }
  if (results.memory) {
    for (const client of c.memory.clients) {
      const s = results.memory[client]?.[0]
      if (!s) continue
      const wasm = client === 'ours' ? `; wasm ${fmt(s.wasmBeforeKB)} -> ${fmt(s.wasmAfterKB)} KB` : ''
      row([`memory: ${fmt(s.events)} events`, `${LABELS[client]}: JS heap after GC`, `${fmt(s.heapBeforeKB)} -> ${fmt(s.heapAfterKB)} KB${wasm}`, '', '', '', ''])
    }
  }
  if (results.size) {
    const s = results.size
    lines.push('')
    row(['size (bytes: raw / gzip -9)', 'ours', 'upstream-eq (esbuild --minify)', 'ours / upstream-eq (gzip)'])
    row(['---', '---:', '---:', '---:'])
    row(['wasm', `${kb(s.wasm.raw)} / ${kb(s.wasm.gzip)}`, '', ''])
    row(['JS as shipped (all .js in pkg/)', `${kb(s.js.raw)} / ${kb(s.js.gzip)}`, '', ''])
    row(['total as shipped (wasm + JS)', `${kb(s.total.raw)} / ${kb(s.total.gzip)}`, `${kb(s.upstream.raw)} / ${kb(s.upstream.gzip)}`, ratio(s.total.gzip, s.upstream.gzip)])
    row(['JS of index.js bundled + minified (esbuild)', `${kb(s.jsMinified.raw)} / ${kb(s.jsMinified.gzip)}`, '', ''])
    row(['total with minified JS', `${kb(s.totalMinified.raw)} / ${kb(s.totalMinified.gzip)}`, `${kb(s.upstream.raw)} / ${kb(s.upstream.gzip)}`, ratio(s.totalMinified.gzip, s.upstream.gzip)])
  }
  return lines.join('\n')
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  const config = { ...(options.quick ? QUICK : FULL) }
  if (options.runs) config.runs = options.runs
  const meta = {
    quick: options.quick,
    runs: config.runs,
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadStart: os.loadavg().map(l => l.toFixed(2)).join(' '),
    config,
  }
  const site = await buildSite(options.pkg)
  const server = await startServer({ binary: options.server, staticDir: site.dir })
  let browser
  const results = {}
  try {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS })
    meta.chromium = browser.version()
    const bench = new Bench(browser, server, config)
    const scenarios = { throughput, large, latency, recovery, fanout, native: b => native(b, options), memory }
    for (const name of options.only) {
      log(`==> ${name}`)
      const started = Date.now()
      results[name] = name === 'size' ? await sizes(options.pkg) : await scenarios[name](bench)
      if (name === 'size') log(`  ${JSON.stringify(results.size)}`)
      log(`    (${((Date.now() - started) / 1000).toFixed(1)} s)`)
    }
  }
  finally {
    await browser?.close().catch(() => {})
    await server.stop()
    site.remove()
  }
  meta.loadEnd = os.loadavg().map(l => l.toFixed(2)).join(' ')
  const table = report(results, meta)
  mkdirSync(options.out, { recursive: true })
  writeFileSync(join(options.out, 'results.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`)
  writeFileSync(join(options.out, 'results.md'), `${table}\n`)
  log(`\n${table}\n\nwritten to ${join(options.out, 'results.md')} and results.json`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
