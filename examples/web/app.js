// The demo chat: one durable iterator per tab on the room of the reference server's demo app.
// Messages go out through the object's `singleClient` method (everyone but the sender gets
// them, so the page shows its own copy) or the `sendMessage` procedure (everyone gets them).
// The page never filters duplicates itself: what you see is what the client delivered.

import { connect } from '/pkg/index.js'

const RPC_URL = new URL('/rpc', location.href).href
const OBJECT_URL = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/chat-room`
/** Reconnect ceiling for the first retry (the client's default is 200 ms): long enough to see. */
const RECONNECT = { initialDelayMs: 1000, maxDelayMs: 8000 }
/** User names travel inside the message text (`name: text`), as the demo events are `{message}`. */
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/
const MESSAGE_PATTERN = /^([A-Za-z0-9_.-]{1,32}): ([\s\S]*)$/
const LOG_LIMIT = 60

const $ = (id) => document.getElementById(id)
const ui = {
  state: $('state'),
  stateText: $('state-text'),
  stateDetail: $('state-detail'),
  room: $('room'),
  count: $('count'),
  scroller: $('scroller'),
  empty: $('empty'),
  messages: $('messages'),
  composer: $('composer'),
  input: $('composer-input'),
  nameForm: $('name-form'),
  name: $('name'),
  lastEventId: $('last-event-id'),
  clientId: $('client-id'),
  drop: $('drop'),
  reconnect: $('reconnect'),
  log: $('log'),
  viaHint: $('via-hint'),
  retryRow: $('retry-row'),
  retryDetail: $('retry-detail'),
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })

let user = pickName()
let iterator
let generation = 0
let messageCount = 0

function pickName() {
  const fromQuery = new URLSearchParams(location.search).get('user')
  const stored = sessionStorage.getItem('demo-user')
  for (const name of [fromQuery, stored]) {
    if (name && NAME_PATTERN.test(name)) return name
  }
  return `user-${Math.floor(1000 + Math.random() * 9000)}`
}

// ---- connection -----------------------------------------------------------------------

/** Opens the room's iterator as `user`, resuming after `lastEventId` when given. */
async function start(lastEventId) {
  const mine = ++generation
  sessionStorage.setItem('demo-user', user)
  showState({ state: 'connecting', attempt: 1 })
  let it
  try {
    it = await connect({
      rpcUrl: RPC_URL,
      procedure: 'onMessage',
      input: { userId: user },
      url: OBJECT_URL,
      lastEventId,
      reconnect: RECONNECT,
    })
  }
  catch (error) {
    if (mine !== generation) return
    log('error', `onMessage failed: ${describe(error)}`)
    showState({ state: 'closed', reason: describe(error) })
    return
  }
  if (mine !== generation) {
    it.return()
    return
  }
  iterator = it
  watch(it)
  ui.room.textContent = it.tokenPayload.chn
  ui.clientId.textContent = it.clientId
  ui.clientId.title = it.clientId
  showState({ state: it.state })
  log('info', lastEventId ? `subscribed as ${user}, after id ${lastEventId}` : `subscribed as ${user}`)

  try {
    for await (const event of it) {
      addIncoming(event, it.lastEventId)
      ui.lastEventId.textContent = it.lastEventId ?? 'none yet'
    }
    if (mine === generation) log('info', 'the stream ended')
  }
  catch (error) {
    if (mine === generation) log('error', `the stream failed: ${describe(error)}`)
  }
  if (mine === generation) showState({ state: 'closed', reason: '' })
}

function watch(it) {
  it.addEventListener('statechange', (e) => {
    if (it !== iterator) return
    showState(e.detail)
    const d = e.detail
    if (d.state === 'open') log('ok', 'open')
    else if (d.state === 'reconnecting') {
      const why = d.code ? ` (closed ${d.code}${d.reason ? `: ${d.reason}` : ''})` : ''
      log('warn', `reconnecting in ${Math.round(d.delayMs)} ms (attempt ${d.attempt})${why}`)
    }
    else if (d.state === 'offline') log('warn', 'offline: waiting for the network')
    else if (d.state === 'refreshing') log('info', 'refreshing the token')
    else if (d.state === 'closed') log('error', `closed${d.code ? ` (${d.code}${d.reason ? `: ${d.reason}` : ''})` : ''}`)
  })
  it.addEventListener('resumed', (e) => {
    if (it === iterator) log('ok', `resumed from id ${e.detail.lastEventId}`)
  })
  it.addEventListener('gap', () => {
    if (it === iterator) log('warn', 'gap: events older than the retention window were missed')
  })
}

const STATE_LABELS = {
  connecting: 'Connecting…',
  open: 'Open',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  refreshing: 'Refreshing token',
  closed: 'Closed',
}

function showState(detail) {
  const { state } = detail
  const label = STATE_LABELS[state] ?? state
  const retrying = state === 'reconnecting' && detail.attempt !== undefined
  const retry = retrying ? `#${detail.attempt} in ${Math.round(detail.delayMs ?? 0)} ms` : ''
  ui.state.dataset.state = state
  ui.stateText.textContent = retrying ? `${label} · attempt ${detail.attempt} in ${Math.round(detail.delayMs ?? 0)} ms` : label
  ui.stateDetail.textContent = label
  ui.retryRow.hidden = !retrying
  ui.retryDetail.textContent = retry
  ui.reconnect.hidden = state !== 'closed'
  ui.drop.disabled = state === 'closed'
}

// ---- messages -------------------------------------------------------------------------

function parse(message) {
  const text = typeof message === 'string' ? message : JSON.stringify(message)
  const match = MESSAGE_PATTERN.exec(text)
  return match ? { author: match[1], text: match[2], raw: text } : { author: 'someone', text, raw: text }
}

function addIncoming(event, id) {
  const { author, text, raw } = parse(event?.message)
  const item = addMessage({ author, text, mine: author === user, note: id ? `#${id}` : '' })
  item.dataset.message = raw
  if (id) item.dataset.id = id
}

/** Appends a message and returns its element; `note` is the small grey text after the name. */
function addMessage({ author, text, mine, note }) {
  const stick = ui.scroller.scrollHeight - ui.scroller.scrollTop - ui.scroller.clientHeight < 80
  const item = document.createElement('li')
  item.className = mine ? 'message mine' : 'message'
  item.dataset.author = author
  item.dataset.text = text

  const avatar = document.createElement('span')
  avatar.className = 'avatar'
  avatar.setAttribute('aria-hidden', 'true')
  avatar.style.setProperty('--hue', String(hue(author)))
  avatar.textContent = author.replace(/^user-/, '').slice(0, 2).toUpperCase()

  const bubble = document.createElement('div')
  bubble.className = 'bubble'
  const meta = document.createElement('div')
  meta.className = 'meta'
  const name = document.createElement('span')
  name.className = 'author'
  name.textContent = mine ? `${author} (you)` : author
  const small = document.createElement('span')
  small.className = 'note'
  small.textContent = note
  const time = document.createElement('time')
  const now = new Date()
  time.dateTime = now.toISOString()
  time.textContent = clock.format(now)
  meta.append(name, small, time)
  const body = document.createElement('p')
  body.className = 'text'
  body.textContent = text
  bubble.append(meta, body)

  item.append(avatar, bubble)
  ui.messages.append(item)
  messageCount++
  ui.count.textContent = `${messageCount} message${messageCount === 1 ? '' : 's'}`
  ui.empty.hidden = true
  if (stick) ui.scroller.scrollTop = ui.scroller.scrollHeight
  return item
}

function hue(name) {
  let h = 0
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360
  return h
}

async function send(text) {
  const message = `${user}: ${text}`
  const via = document.querySelector('input[name="via"]:checked')?.value ?? 'singleClient'
  if (via === 'sendMessage') {
    // Everyone in the room gets it, this tab too: it shows up when the event arrives.
    try {
      await connect({ rpcUrl: RPC_URL, procedure: 'sendMessage', input: { message } })
    }
    catch (error) {
      log('error', `sendMessage failed: ${describe(error)}`)
    }
    return
  }
  // singleClient reaches everyone but the sender: show our own copy now.
  const item = addMessage({ author: user, text, mine: true, note: 'sending…' })
  item.dataset.message = message
  const note = item.querySelector('.note')
  try {
    if (!iterator) throw new Error('not connected')
    await iterator.singleClient({ message })
    note.textContent = 'sent'
  }
  catch (error) {
    item.classList.add('failed')
    note.textContent = `not sent: ${describe(error)}`
    log('error', `singleClient failed: ${describe(error)}`)
  }
}

// ---- event log ------------------------------------------------------------------------

function log(kind, text) {
  const item = document.createElement('li')
  item.className = `entry ${kind}`
  const time = document.createElement('time')
  time.textContent = clock.format(new Date())
  const body = document.createElement('span')
  body.textContent = text
  item.append(time, body)
  ui.log.prepend(item)
  while (ui.log.children.length > LOG_LIMIT) ui.log.lastElementChild.remove()
}

function describe(error) {
  if (error && typeof error === 'object') return error.code ? `${error.code}: ${error.message}` : String(error.message ?? error)
  return String(error)
}

// ---- controls -------------------------------------------------------------------------

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault()
  const text = ui.input.value.trim()
  if (!text) return
  ui.input.value = ''
  send(text)
})

const VIA_HINTS = {
  singleClient: 'singleClient: the object\'s method, called over this tab\'s socket. Everyone else gets it; your copy shows at once.',
  sendMessage: 'sendMessage: a procedure call over HTTP. Everyone in the room gets it, this tab too, as an event with an id.',
}
function showVia() {
  const via = document.querySelector('input[name="via"]:checked')?.value ?? 'singleClient'
  ui.viaHint.textContent = VIA_HINTS[via] ?? ''
}
for (const radio of document.querySelectorAll('input[name="via"]')) radio.addEventListener('change', showVia)
showVia()

ui.name.value = user
ui.nameForm.addEventListener('submit', (e) => {
  e.preventDefault()
  const name = ui.name.value.trim()
  if (!NAME_PATTERN.test(name) || name === user) return
  user = name
  log('info', `renamed to ${name}: reconnecting`)
  const previous = iterator
  const after = previous?.lastEventId
  iterator = undefined
  previous?.return()
  start(after)
})

ui.drop.addEventListener('click', async () => {
  const channel = iterator?.tokenPayload.chn
  if (!channel) return
  ui.drop.disabled = true
  try {
    const response = await fetch('/test/drop', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel, id: iterator.clientId }),
    })
    if (!response.ok) throw new Error(`HTTP ${response.status} (is the server running with --test-endpoints?)`)
    const { dropped } = await response.json()
    log('warn', `server dropped this tab's socket (${dropped})`)
  }
  catch (error) {
    log('error', `drop failed: ${describe(error)}`)
  }
  finally {
    ui.drop.disabled = iterator?.state === 'closed'
  }
})

ui.reconnect.addEventListener('click', () => {
  const after = iterator?.lastEventId
  iterator?.return()
  iterator = undefined
  start(after)
})

start(undefined)
