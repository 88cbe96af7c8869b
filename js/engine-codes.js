// The numbers of the wire between driver.js and the wasm `Core` (js-engine/src/kinds.rs, which
// documents each one); js/test/engine-codes.test.mjs checks that both sides agree.

// Input kinds: the first argument of `core.input(kind, nums, text)`.
export const INIT = 0
export const OPENED = 1
export const CLOSED = 2
export const FRAMES = 3
export const OFFLINE = 4
export const ONLINE = 5
export const WAKE = 6
export const REFRESHED = 7
export const CALL = 8
export const ABORT = 9
export const STOP = 10
export const TIMEOUT = 11

// Output ops: the first element of each output `[op, ...args]`.
export const OPEN = 0
export const SEND = 1
export const CLOSE = 2
export const EVENT = 3
export const STATE = 4
export const RESUMED = 5
export const GAP = 6
export const REFRESH = 7
export const REFRESH_FAILED = 8
export const TOKEN = 9
export const IGNORED = 10
export const CALL_OK = 11
export const CALL_ERR = 12
export const ENDED = 13
export const TIMER = 14
export const CALL_STARTED = 15
export const CALL_REFUSED = 16
export const KEEP = 17
export const RELEASE = 18
