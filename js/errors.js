// The package's one error class and every message it shows: the wasm engine reports errors
// as `[code, ...data]` arrays, the code a number, and leaves the naming and wording to this
// file.

/** The one error class of this package: `code` is stable, `cause` keeps the origin. */
export class DurableIteratorError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ status?: number, data?: unknown, defined?: boolean, cause?: unknown }} [details]
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'DurableIteratorError'
    this.code = code
    this.status = details.status
    this.data = details.data
    this.defined = details.defined ?? false
  }
}

/**
 * What the engine's error arrays say (the Rust `Display` texts), by code, in the order of the
 * numbers the engine reports them by (`ErrorCode` in js-engine/src/kinds.rs;
 * js/test/engine-codes.test.mjs checks it). REJECTED is worded by {@link rejected}.
 */
const MESSAGES = {
  MALFORMED_MESSAGE: reason => `malformed message: ${reason}`,
  UNKNOWN_MESSAGE_TYPE: type => `unknown message type ${type}`,
  FRAME_TOO_LARGE: (size, limit) => `frame of ${size} bytes exceeds the limit of ${limit} bytes`,
  INVALID_TOKEN: reason => `invalid token: ${reason}`,
  TOKEN_EXPIRED: (exp, now) => `token expired at ${exp / 1000} (now ${now / 1000})`,
  RPC_NOT_ALLOWED: method => `method ${JSON.stringify(method)} is not allowed by the token`,
  INVALID_CALL: reason => `invalid call: ${reason}`,
  REJECTED: undefined,
  ABORTED: () => 'aborted',
  ITERATOR_ENDED: () => 'the durable iterator has ended',
  CONNECTION_CLOSED: (code, reason) => `connection closed (${code}): ${reason}`,
  UNEXPECTED_RESPONSE: reason => `unexpected response: ${reason}`,
  // From the engine without a reason: an error this build cannot raise (see kinds.rs).
  ENGINE_FAILED: (reason = 'an error it cannot raise') => `the engine failed: ${reason}`,
}

/** The error codes by the engine's number for them. */
export const CODES = Object.keys(MESSAGES)

/**
 * The error an error array `[code, ...data]` stands for: `code` is the engine's number, or the
 * driver's own errors' name. `[REJECTED, status, message]` (the index already replaced by the
 * answer's parsed message, or undefined) becomes the oRPC error the answer carries.
 * @param {[number | string, ...unknown[]]} error
 */
export function toError([code, ...data]) {
  const name = CODES[code] ?? code
  if (name === 'REJECTED') return rejected(data[0], data[1]?.p?.b)
  return new DurableIteratorError(name, MESSAGES[name]?.(...data) ?? name)
}

/** A JS exception as text, for reasons. */
export function describe(error) {
  return error instanceof Error ? error.message : String(error)
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export const isObject = value => value !== null && typeof value === 'object' && !Array.isArray(value)

/** oRPC's common codes by status; the default message is the code in words. */
const COMMON = {
  400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_SUPPORTED',
  406: 'NOT_ACCEPTABLE', 408: 'TIMEOUT', 409: 'CONFLICT', 412: 'PRECONDITION_FAILED', 413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE', 422: 'UNPROCESSABLE_CONTENT', 429: 'TOO_MANY_REQUESTS', 499: 'CLIENT_CLOSED_REQUEST',
  500: 'INTERNAL_SERVER_ERROR', 501: 'NOT_IMPLEMENTED', 502: 'BAD_GATEWAY', 503: 'SERVICE_UNAVAILABLE', 504: 'GATEWAY_TIMEOUT',
}

const words = code => code === 'TIMEOUT'
  ? 'Request Timeout'
  : code.toLowerCase().replace(/(^|_)(.)/g, (_, gap, letter) => (gap && ' ') + letter.toUpperCase())

/** The oRPC error in a body's `json` (`{defined, code, status, message, data?}`), if it is one. */
export function orpcError(body) {
  const json = isObject(body) ? body.json : undefined
  if (!isObject(json) || typeof json.defined !== 'boolean' || typeof json.code !== 'string'
    || !Number.isInteger(json.status) || json.status < 0 || json.status > 65535 || typeof json.message !== 'string') {
    return undefined
  }
  return new DurableIteratorError(json.code, json.message, { status: json.status, data: json.data ?? undefined, defined: json.defined })
}

/**
 * The error of an error answer (status >= 400 or < 200) with body `body` (parsed; undefined
 * when absent): the oRPC error it carries, else one with the status's common code and the
 * body as message when it is a string (the bare 404 of an unknown path).
 */
export function rejected(status, body) {
  const error = orpcError(body)
  if (error) return error
  const code = COMMON[status] ?? 'INTERNAL_SERVER_ERROR'
  return new DurableIteratorError(code, typeof body === 'string' && body !== '' ? body : words(code), { status })
}
