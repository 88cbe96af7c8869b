// Harness of the JS API tests: loads the package by URL, as a page without a bundler does, and
// keeps named iterators with what they delivered, so the Node side can drive a test in steps
// (open, publish from Node, wait, assert). Each run is also rendered into the page.

import * as pkg from '/pkg/index.js'

const NOTICES = ['connecting', 'open', 'reconnecting', 'offline', 'refreshing', 'closed', 'resumed', 'gap', 'refreshfailed', 'token']
const runs = new Map()

/** A structured-clone-able view of an error, with what the tests check. */
function describeError(error) {
  return {
    name: error?.name,
    code: error?.code,
    status: error?.status,
    message: String(error?.message ?? error),
    isDurableIteratorError: error instanceof pkg.DurableIteratorError,
  }
}

function render(name, text) {
  let list = document.getElementById(`run-${name}`)
  if (!list) {
    const heading = document.createElement('h2')
    heading.textContent = name
    list = document.createElement('ol')
    list.id = `run-${name}`
    document.getElementById('runs').append(heading, list)
  }
  const item = document.createElement('li')
  item.textContent = text
  list.append(item)
}

/** `connect(options)` under `name`, recording every connection notice. `abortable` adds a signal. */
async function open(name, options, { abortable = false } = {}) {
  const controller = abortable ? new AbortController() : undefined
  const run = { events: [], notices: [], ended: undefined, controller }
  runs.set(name, run)
  run.it = await pkg.connect({ ...options, signal: controller?.signal })
  for (const type of NOTICES) {
    run.it.addEventListener(type, event => run.notices.push({ type, ...event.detail }))
  }
  return { clientId: run.it.clientId, tokenPayload: run.it.tokenPayload, state: run.it.state }
}

/** Starts `for await` over run `name`; what it yields goes to `events`, how it ended to `ended`. */
function consume(name) {
  const run = get(name)
  run.loop = (async () => {
    try {
      for await (const value of run.it) {
        run.events.push({ value, lastEventId: run.it.lastEventId })
        render(name, JSON.stringify(value?.message ?? value?.seq ?? value))
      }
      run.ended = { done: true }
    }
    catch (error) {
      run.ended = { error: describeError(error) }
    }
  })()
}

function get(name) {
  const run = runs.get(name)
  if (!run) throw new Error(`no run named ${name}`)
  return run
}

/** What run `name` delivered so far, without the padding of /test/publish events. */
function summary(name) {
  const run = get(name)
  return {
    events: run.events.map(({ value, lastEventId }) => ({
      seq: value?.seq,
      message: value?.message,
      lastEventId,
    })),
    notices: run.notices,
    ended: run.ended,
    state: run.it.state,
  }
}

/** Stops every run (a test's cleanup). */
async function stopAll() {
  for (const run of runs.values()) await run.it?.return()
  runs.clear()
}

window.harness = { pkg, open, consume, get, summary, stopAll, describeError }
window.ready = pkg.initialize()
