// The markdown table of a run: medians per client, ratios to the upstream-equivalent and the
// floor, the native fan-out, memory and sizes. Scenarios that did not run are left out.

import { median } from './stats.js'

/** The clients of the page, in the order they run. */
export const CLIENTS = ['ours', 'upstream', 'floor']
/** How the table names them. */
export const LABELS = { 'ours': 'ours', 'ours-page': 'ours, socket on the page', 'upstream': 'upstream-eq', 'floor': 'floor' }

/** How the header names the driver: whether the browser reported every WebSocket frame to it. */
const DRIVER_LABELS = {
  cdp: 'cdp (no network instrumentation)',
  playwright: 'playwright (network instrumentation on: every frame copied to the driver)',
}

const fmt = (value, digits = 0) => Number.isFinite(value)
  ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
  : 'n/a'
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0) ? `${(a / b).toFixed(2)}x` : 'n/a'
const kb = bytes => `${(bytes / 1024).toFixed(1)} KB`

/** Median of field `key` over one client's samples. */
const med = (samples, client, key) => median((samples?.[client] ?? []).map(s => s[key]))

/** The table for `results`, with the run's `meta` (machine, mode, sizes) on top. */
export function report(results, meta) {
  const lines = []
  const row = cells => lines.push(`| ${cells.join(' | ')} |`)
  lines.push(`Mode: ${meta.quick ? 'quick (smoke sizes, not a measurement)' : 'full'}; driver: ${DRIVER_LABELS[meta.driver] ?? meta.driver}; runs per scenario: ${meta.runs}; ${meta.date}`)
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
      const workers = s.workerHeapBeforeKB || s.workerHeapAfterKB ? `; worker JS heap ${fmt(s.workerHeapBeforeKB)} -> ${fmt(s.workerHeapAfterKB)} KB` : ''
      row([`memory: ${fmt(s.events)} events`, `${LABELS[client]}: page JS heap after GC`, `${fmt(s.heapBeforeKB)} -> ${fmt(s.heapAfterKB)} KB${wasm}${workers}`, '', '', '', ''])
    }
  }
  const withPage = ['throughput', 'large', 'latency', 'fanout'].filter(n => results[n]?.['ours-page'])
  if (withPage.length) {
    lines.push('')
    row(['scenario (same run)', 'metric', 'ours', 'ours, socket on the page', 'ours / socket on the page'])
    row(['---', '---', '---:', '---:', '---:'])
    const keys = { throughput: ['eventsPerSecond', 'events/s', 0], large: ['mbPerSecond', 'MB/s', 1], latency: ['p50Ms', 'p50 ms', 2], fanout: ['deliveriesPerSecond', 'deliveries/s', 0] }
    for (const name of withPage) {
      const [key, metric, digits] = keys[name]
      const o = med(results[name], 'ours', key)
      const p = med(results[name], 'ours-page', key)
      row([name, metric, fmt(o, digits), fmt(p, digits), ratio(o, p)])
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
