// The JS heap of a page's workers (the package's socket worker), through a DevTools session of
// the page. Neither driver exposes sessions for workers (Playwright's API has none, lib/cdp.js
// only what run.js needs), so this auto-attaches to them in non-flattened mode and exchanges
// protocol messages through `Target.sendMessageToTarget`. Auto-attach rather than
// `Target.attachToTarget`: a dedicated worker answers the protocol only once it was
// auto-attached, which Playwright does for every page and lib/cdp.js does not.

/**
 * Sum of `Runtime.getHeapUsage().usedSize` over the page's workers, each after a forced GC;
 * 0 when the page has none.
 * @param {import('playwright-core').CDPSession} cdp a session of the page
 */
export async function workerHeapBytes(cdp) {
  const workers = []
  const onAttached = ({ sessionId, targetInfo }) => {
    if (targetInfo.type === 'worker') workers.push(sessionId)
  }
  cdp.on('Target.attachedToTarget', onAttached)
  let total = 0
  try {
    // Chromium reports the workers already running before it answers.
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false })
    for (const sessionId of workers) {
      const call = callThrough(cdp, sessionId)
      await call('HeapProfiler.collectGarbage')
      await call('HeapProfiler.collectGarbage')
      total += (await call('Runtime.getHeapUsage')).usedSize
    }
  }
  finally {
    cdp.off('Target.attachedToTarget', onAttached)
    // Detaches the sessions again: nothing stays attached to the worker during a measurement.
    await cdp.send('Target.setAutoAttach', { autoAttach: false, waitForDebuggerOnStart: false }).catch(() => {})
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
