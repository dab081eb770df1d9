// Pyodide for PyScript, restored from the memory snapshot made at set-up.
//
// Why: a cold Pyodide start (initialise CPython, import the stdlib modules the bx24 library
// uses) costs seconds on every page of the portal; restoring the memory image of an
// interpreter that already did it costs a fraction. `./dev.sh setup` builds the image
// (runtime/build-snapshot.mjs) and names it in runtime/snapshot/manifest.json.
//
// pyodide.json's `interpreter` points here. PyScript imports this module like pyodide.mjs and
// calls `loadPyodide({stdout, stderr, indexURL, ...})` with `version`; we pass the call on
// with the snapshot added. Without a usable snapshot the frame boots Pyodide the normal way
// and says so on the console.

import * as pyodide from "./runtime/npm/pyodide@314.0.2/pyodide.mjs";

export const version = pyodide.version;

// PyScript derives indexURL from this module's URL; Pyodide's files live next to pyodide.mjs.
const INDEX_URL = new URL("./runtime/npm/pyodide@314.0.2/", import.meta.url).href;
const MANIFEST_URL = new URL("./runtime/snapshot/manifest.json", import.meta.url);

function warn(message) {
  console.warn(`[bx24 frame] ${message}; booting Pyodide without a snapshot (slower)`);
}

// The manifest is small and revalidated; the image it names is immutable (hash in the URL),
// so a warm load reads it from the HTTP cache without asking the server.
async function snapshotRequest() {
  let manifest;
  try {
    const response = await fetch(MANIFEST_URL, { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    manifest = await response.json();
  } catch (error) {
    warn(`no Pyodide snapshot at ${MANIFEST_URL} (${error.message}; run ./dev.sh setup)`);
    return null;
  }
  if (manifest.pyodide !== version) {
    warn(`the snapshot was made for Pyodide ${manifest.pyodide}, this is ${version}`);
    return null;
  }
  const url = new URL(manifest.snapshot, MANIFEST_URL);
  // Wrapped so that `await` does not wait for the image: Pyodide gets the promise and fetches
  // and compiles its wasm meanwhile.
  return {
    image: fetch(url).then((response) => {
      if (!response.ok) throw new Error(`snapshot ${url}: HTTP ${response.status}`);
      return response.arrayBuffer();
    }),
  };
}

export async function loadPyodide(options = {}) {
  const settings = { ...options, indexURL: INDEX_URL };
  const snapshot = await snapshotRequest();
  if (!snapshot) return pyodide.loadPyodide(settings);
  try {
    const interpreter = await pyodide.loadPyodide({ ...settings, _loadSnapshot: snapshot.image });
    // Every page restores the same memory: reseed `random` from the browser's entropy so pages
    // do not share one sequence. (The str hash seed stays the image's: it is fixed at start.)
    interpreter.runPython("import sys\nif 'random' in sys.modules: sys.modules['random'].seed()");
    return interpreter;
  } catch (error) {
    warn(`restoring the snapshot failed (${error})`);
    return pyodide.loadPyodide(settings);
  }
}
