// The reference server as the benchmarks run it: started by ../../test-support/server.js (the
// release binary on a free loopback port, resume on in memory, the test endpoints, the bench
// site at `/`, a fresh key the harness signs tokens with, so every scenario gets its own
// channel without an app procedure), with the bench's own flags.

import { startServer } from '../../test-support/server.js'

const BENCH_SERVER_ARGS = [
  // Bursts are paced by the server against this bound; a roomy one keeps a client that a busy
  // machine starves for a few seconds from being closed as a slow consumer mid-measurement.
  '--max-queued-events', '65536',
]

/**
 * Starts `binary` (the release build; `cargo xtask bench` builds it) serving `staticDir`,
 * with logs at `warn` so a long run's log does not cost the server time.
 * @param {{ binary: string, staticDir: string }} options
 */
export function startBenchServer({ binary, staticDir }) {
  return startServer({ binary, staticDir, args: BENCH_SERVER_ARGS, env: { RUST_LOG: 'warn' } })
}

/** `/test/publish` to channel `chn`; a long paced burst may take minutes on a slow machine. */
export function publish(server, chn, options) {
  return server.publish({ channel: chn, ...options }, { timeoutMs: 600_000 })
}
