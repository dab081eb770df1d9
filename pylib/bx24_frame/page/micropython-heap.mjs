// MicroPython for PyScript, with a heap large enough for Bitrix24's largest events.
//
// Why: the pinned MicroPython starts with a 1 MiB heap and PyScript gives it no other, so an
// event payload of about 1 MB (a long comment) raised MemoryError before any Python ran and the
// event was lost. bx24 delivers events of up to 5 MB (bridge.js reports larger ones as
// oversized); this heap holds such a payload twice over (the JSON text and what it decodes to).
// Heap pages that are never used cost no memory.
//
// The page's MicroPython config names this module as its `interpreter`. PyScript imports it like
// micropython.mjs and calls `loadMicroPython({stdout, stderr, url, ...})`; we pass the call on to
// the pinned MicroPython with the heap size and the wasm's real URL (PyScript would derive it
// from this module's URL). Both URLs come from the page (<script id="bx24-boot">).

const boot = JSON.parse(document.getElementById("bx24-boot").textContent).interpreters.micropython;
const micropython = await import(new URL(boot.micropython, document.baseURI).href);

export const HEAP_BYTES = 16 * 1024 * 1024;

export function loadMicroPython(options = {}) {
  return micropython.loadMicroPython({
    ...options, heapsize: HEAP_BYTES, url: new URL(boot.wasm, document.baseURI).href,
  });
}
