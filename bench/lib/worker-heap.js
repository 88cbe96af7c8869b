// The JS heap of a page's workers (the package's socket worker), through the page's DevTools
// session: Playwright exposes no CDP session for workers, so this attaches to the worker target
// in non-flattened mode and exchanges protocol messages through `Target.sendMessageToTarget`.

/**
 * Sum of `Runtime.getHeapUsage().usedSize` over the page's workers, each after a forced GC;
 * 0 when the page has none.
 * @param {import('playwright-core').CDPSession} cdp a session of the page
 */
export async function workerHeapBytes(cdp) {
  const { targetInfos } = await cdp.send('Target.getTargets')
  let total = 0
  for (const target of targetInfos.filter(t => t.type === 'worker')) {
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })
    try {
      const call = callThrough(cdp, sessionId)
      await call('HeapProfiler.collectGarbage')
      await call('HeapProfiler.collectGarbage')
      total += (await call('Runtime.getHeapUsage')).usedSize
    }
    finally {
      await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => {})
    }
  }
  return total
}

function callThrough(cdp, sessionId) {
  let nextId = 1
  return (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++
    const onMessage = (event) => {
      if (event.sessionId !== sessionId) return
      const message = JSON.parse(event.message)
      if (message.id !== id) return
      cdp.off('Target.receivedMessageFromTarget', onMessage)
      if (message.error) reject(new Error(`${method}: ${message.error.message}`))
      else resolve(message.result)
    }
    cdp.on('Target.receivedMessageFromTarget', onMessage)
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
      .catch((error) => {
        cdp.off('Target.receivedMessageFromTarget', onMessage)
        reject(error)
      })
  })
}
