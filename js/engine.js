// The wasm engine (js-engine/, no wasm-bindgen): its loader and `Core`, one engine per
// iterator behind one entry point, `core.input(kind, nums, text)` (SPEC Part C).
//
// The module imports nothing and exports its memory and five functions (js-engine/src/
// exports.rs): `core_new()`, `core_free(core)`, `scratch(bytes)` (a buffer for one input,
// 8-byte aligned), `core_input(core, kind, numCount, textBytes)` (reads the input from the
// scratch buffer: the numbers as f64s, then the text as UTF-8; returns the output's length)
// and `output_ptr()` (where that output, JSON text, is). Every call may grow the memory, so
// views of it are made after the call.

let wasm

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Instantiates the module from a URL, a `Request`, a `Response` (or a promise of one), its
 * bytes or a compiled `WebAssembly.Module`.
 */
export async function loadEngine(source) {
  if (source instanceof WebAssembly.Module) {
    wasm = (await WebAssembly.instantiate(source)).exports
    return
  }
  if (typeof source === 'string' || source instanceof URL || (typeof Request === 'function' && source instanceof Request)) {
    source = fetch(source)
  }
  source = await source
  if (typeof Response === 'function' && source instanceof Response) {
    if (!source.ok) throw new Error(`cannot load the wasm engine: HTTP ${source.status} for ${source.url}`)
    // Streaming compilation needs the right MIME type; without it, take the bytes.
    if (source.headers.get('content-type') === 'application/wasm') {
      wasm = (await WebAssembly.instantiateStreaming(source)).instance.exports
      return
    }
    source = await source.arrayBuffer()
  }
  wasm = (await WebAssembly.instantiate(source)).instance.exports
}

/** One engine. Only after {@link loadEngine} has resolved. */
export class Core {
  #core = wasm.core_new()

  /**
   * Feeds one input: `nums` its numbers (an array or a `Float64Array`), `text` its strings
   * concatenated. Returns the JSON text of its outputs.
   */
  input(kind, nums, text) {
    const textStart = nums.length * 8
    // At most three UTF-8 bytes per UTF-16 unit.
    const at = wasm.scratch(textStart + text.length * 3)
    new Float64Array(wasm.memory.buffer, at, nums.length).set(nums)
    const { written } = encoder.encodeInto(text, new Uint8Array(wasm.memory.buffer, at + textStart, text.length * 3))
    const length = wasm.core_input(this.#core, kind, nums.length, written)
    return decoder.decode(new Uint8Array(wasm.memory.buffer, wasm.output_ptr(), length))
  }

  /** Frees the engine; it must not be used again. */
  free() {
    if (this.#core) wasm.core_free(this.#core)
    this.#core = 0
  }
}
