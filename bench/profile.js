// A CPU profile of one client in the throughput scenario (not part of `cargo xtask bench`):
// self time by function, to see where a client spends its time per event.
//   [PROFILE_SIZE=bytes] node profile.js [ours|ours-page|upstream|floor] [events] [rate]

import { chromium } from 'playwright-core'
import { join } from 'node:path'
import { launchChromium } from '../test-support/chromium.js'
import { publish, startBenchServer } from './lib/server.js'
import { buildSite, REPO_ROOT } from './lib/site.js'

const client = process.argv[2] ?? 'ours'
const count = Number(process.argv[3] ?? 20_000)
const rate = process.argv[4] ? Number(process.argv[4]) : undefined
const site = await buildSite(process.env.BENCH_PKG ?? join(REPO_ROOT, 'pkg'))
const server = await startBenchServer({ binary: join(REPO_ROOT, 'target/release/durable-iterator-server'), staticDir: site.dir })
const browser = await launchChromium(chromium)
try {
  const page = await browser.newPage()
  await page.goto(`${server.baseUrl}/bench.html`)
  await page.waitForFunction(() => window.ready !== undefined)
  await page.evaluate(() => window.ready)
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 })
  const chn = `profile-${process.pid}`
  const handle = await page.evaluate(([c, u, t, n]) => window.bench.open(c, u, t, 1, { expected: n }), [client, server.objectUrl, server.token(chn), count])
  await server.waitSubscribedCount(1, { channel: chn })
  await cdp.send('Profiler.start')
  const published = publish(server, chn, { count, size: Number(process.env.PROFILE_SIZE ?? 100), rate })
  const r = await page.evaluate(([h]) => window.bench.wait(h, 600_000), [handle])
  const { profile } = await cdp.send('Profiler.stop')
  await published
  console.log(`${client}: ${(r.count - 1) / r.seconds} events/s`)
  const self = new Map()
  const dt = new Map()
  profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  let total = 0
  for (const node of profile.nodes) {
    const t = dt.get(node.id) ?? 0
    total += t
    const f = node.callFrame
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}`
    self.set(key, (self.get(key) ?? 0) + t)
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)
  for (const [k, v] of rows) console.log(`${(100 * v / total).toFixed(1).padStart(5)}%  ${(v / 1000 / count * 1000).toFixed(2)} us/event  ${k}`)
}
finally {
  await browser.close()
  await server.stop()
  site.remove()
}
