// The markdown table of a run: medians per client, ratios to the upstream-equivalent and the
// floor (and to the baseline package with --baseline-pkg), the native fan-out, memory and sizes.
// Scenarios that did not run are left out.

import { median } from './stats.js'

/** The clients of the page, in the order they run. */
export const CLIENTS = ['ours', 'upstream', 'floor']
/** How the table names them. */
export const LABELS = { 'ours': 'ours', 'ours-page': 'ours, socket on the page', 'ours-before': 'ours, before', 'upstream': 'upstream-eq', 'floor': 'floor' }

/** How the table names the package of --baseline-pkg. */
export const baselineLabel = dir => `ours, before (${dir})`

/** How the header names the driver: whether the browser reported every WebSocket frame to it. */
const DRIVER_LABELS = {
  cdp: 'cdp (no network instrumentation)',
  playwright: 'playwright (network instrumentation on: every frame copied to the driver)',
}

const fmt = (value, digits = 0) => Number.isFinite(value)
  ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
  : 'n/a'
// Only positive values compare: a latency median below the page's clock alignment can come out
// zero or negative, and a ratio of it would be noise.
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0) ? `${(a / b).toFixed(2)}x` : 'n/a'
const kb = bytes => `${(bytes / 1024).toFixed(1)} KB`

/** Median of field `key` over one client's samples. */
const med = (samples, client, key) => median((samples?.[client] ?? []).map(s => s[key]))

/** The table for `results`, with the run's `meta` (machine, mode, sizes) on top. */
export function report(results, meta) {
  const lines = []
  const row = cells => lines.push(`| ${cells.join(' | ')} |`)
  lines.push(`Mode: ${meta.quick ? 'quick (smoke sizes, not a measurement)' : 'full'}; driver: ${DRIVER_LABELS[meta.driver] ?? meta.driver}; runs per scenario: ${meta.runs}; ${meta.date}`)
  lines.push(`Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memoryGB} GB; ${meta.os}; Node ${meta.node}; Chromium ${meta.chromium}; load average at start ${meta.loadStart}, at end ${meta.loadEnd}`)
  // With --baseline-pkg: a column for the baseline package beside ours, and ours / baseline.
  const before = meta.baselinePkg ? baselineLabel(meta.baselinePkg) : undefined
  const b = (cell, ...cells) => before ? [cell, ...cells] : cells
  lines.push('')
  row(['scenario', 'metric', 'ours', ...b(before), 'upstream-eq', 'floor', ...b(`ours / ${before}`), 'ours / upstream-eq', 'ours / floor'])
  row(['---', '---', '---:', ...b('---:'), '---:', '---:', ...b('---:'), '---:', '---:'])
  const ratios = before ? 3 : 2 // cells after the client ones
  const compare = (scenario, metric, samples, key, digits, better) => {
    if (!samples) return
    const [o, u, f] = CLIENTS.map(c => med(samples, c, key))
    const p = med(samples, 'ours-before', key)
    row([scenario, `${metric} (${better} is better)`, fmt(o, digits), ...b(fmt(p, digits)), fmt(u, digits), fmt(f, digits), ...b(ratio(o, p)), ratio(o, u), ratio(o, f)])
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
    const lostDup = client => `${cell(client, 'lost')} / ${cell(client, 'duplicated')}`
    row(['', 'lost / duplicated events', lostDup('ours'), ...b(lostDup('ours-before')), lostDup('upstream'), 'n/a (no recovery)', ...Array(ratios).fill('')])
  }
  compare(`fan-out: ${c.fanout.iterators} iterators in one page, ${fmt(c.fanout.count)} events`, 'deliveries/s', results.fanout, 'deliveriesPerSecond', 0, 'higher')
  if (results.native) {
    const n = results.native.native
    const m = key => fmt(median(n.map(s => s[key])), 2)
    row([`fan-out: ${fmt(c.native.sockets)} sockets, native client, ${c.native.rate} events/s`, 'server publish-to-delivery p50 / p99 / max ms', `${m('p50Ms')} / ${m('p99Ms')} / ${m('maxMs')}`, ...b(''), '', '', ...b(''), `lost: ${n.map(s => s.lost).join(', ')}`, ''])
  }
  if (results.memory) {
    for (const client of c.memory.clients) {
      const s = results.memory[client]?.[0]
      if (!s) continue
      const wasm = Number.isFinite(s.wasmBeforeKB) ? `; wasm ${fmt(s.wasmBeforeKB)} -> ${fmt(s.wasmAfterKB)} KB` : ''
      const workers = s.workerHeapBeforeKB || s.workerHeapAfterKB ? `; worker JS heap ${fmt(s.workerHeapBeforeKB)} -> ${fmt(s.workerHeapAfterKB)} KB` : ''
      const label = client === 'ours-before' ? before : LABELS[client]
      row([`memory: ${fmt(s.events)} events`, `${label}: page JS heap after GC`, `${fmt(s.heapBeforeKB)} -> ${fmt(s.heapAfterKB)} KB${wasm}${workers}`, ...b(''), '', '', ...Array(ratios).fill('')])
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
    const p = s.before
    const sb = (cell, ...cells) => p ? [cell, ...cells] : cells
    row(['size (bytes: raw / gzip -9)', 'ours', ...sb(before ?? ''), 'upstream-eq (esbuild --minify)', ...sb(`ours / ${before} (gzip)`), 'ours / upstream-eq (gzip)'])
    row(['---', '---:', ...sb('---:'), '---:', ...sb('---:'), '---:'])
    const sizeRow = (name, key, upstream) => {
      const size = x => `${kb(x[key].raw)} / ${kb(x[key].gzip)}`
      row([name, size(s), ...sb(p && size(p)), upstream ? `${kb(s.upstream.raw)} / ${kb(s.upstream.gzip)}` : '', ...sb(p && ratio(s[key].gzip, p[key].gzip)), upstream ? ratio(s[key].gzip, s.upstream.gzip) : ''])
    }
    sizeRow('wasm', 'wasm')
    sizeRow('JS as shipped (all .js in pkg/)', 'js')
    sizeRow('total as shipped (wasm + JS)', 'total', true)
    sizeRow('JS of index.js bundled + minified (esbuild)', 'jsMinified')
    sizeRow('total with minified JS', 'totalMinified', true)
  }
  return lines.join('\n')
}
