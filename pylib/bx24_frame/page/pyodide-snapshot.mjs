// Pyodide for PyScript, restored from the memory snapshot made at `bx24 setup`.
//
// Why: a cold Pyodide start (initialise CPython, import the stdlib modules the bx24 library
// uses) costs seconds on every page of the portal; restoring the memory image of an
// interpreter that already did it costs a fraction (bx24_frame/snapshot.py builds it).
//
// The page's Pyodide config names this module as its `interpreter`. PyScript imports it like
// pyodide.mjs and calls `loadPyodide({stdout, stderr, ...})`; we pass the call on to the pinned
// Pyodide with the snapshot added. Both URLs come from the page (<script id="bx24-boot">), so
// nothing here names a version. Without a snapshot the frame boots Pyodide the normal way and
// says so on the console.

const boot = JSON.parse(document.getElementById("bx24-boot").textContent).interpreters.pyodide;
const PYODIDE_URL = new URL(boot.pyodide, document.baseURI);
const pyodide = await import(PYODIDE_URL.href);

export const version = pyodide.version;

// PyScript would derive indexURL from this module's URL; Pyodide's files live next to pyodide.mjs.
const INDEX_URL = new URL("./", PYODIDE_URL).href;

function warn(message) {
  console.warn(`[bx24 frame] ${message}; booting Pyodide without a snapshot (slower)`);
}

export async function loadPyodide(options = {}) {
  const settings = { ...options, indexURL: INDEX_URL };
  if (!boot.snapshot) {
    warn("no Pyodide snapshot for this app (run `bx24 setup`)");
    return pyodide.loadPyodide(settings);
  }
  const url = new URL(boot.snapshot, document.baseURI);
  // The image was made with this stdlib zip (its members stored: bx24_frame/snapshot.py)
  const stdLibURL = new URL(boot.stdlib, document.baseURI).href;
  // Not awaited here: Pyodide gets the promise and fetches and compiles its wasm meanwhile
  // (the page preloads the image from the start).
  const image = fetch(url).then((response) => {
    if (!response.ok) throw new Error(`snapshot ${url}: HTTP ${response.status}`);
    return response.arrayBuffer();
  });
  try {
    const interpreter = await pyodide.loadPyodide({ ...settings, _loadSnapshot: image, stdLibURL });
    // Every page restores the same memory: reseed `random` from the browser's entropy so pages
    // do not share one sequence. (The str hash seed stays the image's: it is fixed at start.)
    interpreter.runPython("import sys\nif 'random' in sys.modules: sys.modules['random'].seed()");
    return interpreter;
  } catch (error) {
    image.catch(() => {});
    warn(`restoring the snapshot failed (${error})`);
    return pyodide.loadPyodide(settings);
  }
}
