// Which object the reference server plays: ours, or the real oRPC object's behaviour
// (`--compat upstream`, chosen by the server's DURABLE_ITERATOR_COMPAT variable, which the
// server inherits). The suites run against both; where the two objects answer differently,
// tests expect what the server in use answers.

/** Whether the server runs with `--compat upstream`. */
export const UPSTREAM_OBJECT = process.env.DURABLE_ITERATOR_COMPAT === 'upstream'

/**
 * How a call of an unknown nested path fails: ours matches no procedure (404), the real object
 * fails inside its router client (500).
 */
export const UNKNOWN_NESTED_PATH = UPSTREAM_OBJECT
  ? { code: 'INTERNAL_SERVER_ERROR', status: 500, message: /Internal server error/ }
  : { code: 'NOT_FOUND', status: 404, message: /No procedure at path \["routerClient","nope"\]/ }
