// Starts the frame's Python with the PyScript runtime we serve ourselves (never a CDN), and
// makes sure a frame that cannot boot says so, to the page, the console and the server.
//
// The page carries everything it needs inline (<script id="bx24-boot">, written by
// bx24_frame/site.py): the default interpreter, each interpreter's PyScript config, the URLs
// of PyScript, main.py and the big downloads, where to send reports. Every URL is relative to
// the page.
//
// Interpreter: the project's default (bx24.toml), or the handler URL's `?interpreter=`
// (`pyodide` or `micropython`).
//
// Why it is shaped this way (docs/performance.md, "Boot order"): PyScript fetches what it needs
// as a chain (its core, the interpreter, each `files` entry, main.py). The page loads this
// module `async` and first, so it starts while the BX24 library and the bridge still load, and
// asks for every link of that chain at once; PyScript then finds each file already on its way.
// Python runs only after the page's classic scripts (frames.js, BX24, then bridge.js) have run.
//
// Never silently deaf (docs/bitrix24.md: the frame is a hidden, cross-site iframe):
// - storage: when the browser denies this frame IndexedDB (third-party storage blocked),
//   PyScript gets one in memory (memory-indexeddb.js) instead of waiting forever for its own;
// - a boot that cannot start, or Python failing before the app attached its card, marks the
//   page `data-bx24="error"` (the reason in `data-bx24-error`) at once;
// - a watchdog turns a boot that stops making progress into the same error;
// - each of these, and Python errors later on (window.bx24Report, used by the bx24 library),
//   is sent to the app's server (POST frame-report), a few per page at most.

const PREFIX = "[bx24 frame]";
const root = document.documentElement;
const started = performance.now();

let config = null;
let interpreterName = null;

// -- reports to the server --------------------------------------------------------------------

const MAX_REPORTS = 10;
const MAX_MESSAGE = 8000;
let reports = 0;
const reported = new Set();

function placementUri() {
  try {
    let options = window.BX24?.placement?.info?.()?.options;
    if (typeof options === "string") options = JSON.parse(options || "{}");
    return typeof options?.URI === "string" ? options.URI : null;
  } catch {
    return null;
  }
}

// The server's redaction (bx24_server/redaction.py: its patterns are in the boot config):
// a report never leaves the browser with a token or a password in it.
let secrets = null;
function redact(text) {
  if (typeof text !== "string") return text;
  secrets ??= (config?.redact ?? []).map((source) => new RegExp(source, "gi"));
  return secrets.reduce((out, pattern) => out.replace(pattern, (match, kept) => kept + "***"), text);
}

// Tracebacks name the app's files as the project does (the boot config's `names`): main.py runs
// as "<exec>" (Pyodide) or "<stdin>" (MicroPython), the other modules from the interpreter's
// folder; the library's stay bx24/..., the standard library's are left alone.
function nameFiles(text) {
  const names = config?.names;
  if (typeof text !== "string" || !names) return text;
  return text
    .replace(/File "(?:\/home\/pyodide\/)?(bx24\/[^"]+)"/g, 'File "$1"')
    .replace(/File "(?:\/home\/pyodide\/|(?=[^"/<]))((?!bx24\/)[^"]+\.py)"/g,
      (match, rel) => rel.startsWith(names.app) && names.app ? match  // named already
        : `File "${names.app}${rel}"`)
    .replace(/File "<(?:exec|stdin)>"/g, `File "${names.main}"`);
}

function report(kind, message) {
  const text = redact(nameFiles(String(message ?? "")).slice(0, MAX_MESSAGE));
  if (!config?.report || reports >= MAX_REPORTS || reported.has(kind + text)) return;
  reports += 1;
  reported.add(kind + text);
  const body = JSON.stringify({
    kind, message: text, interpreter: interpreterName, uri: redact(placementUri()),
    at: Math.round(performance.now()), page: redact(location.pathname),
  });
  fetch(new URL(config.report, document.baseURI), {
    method: "POST", body, keepalive: true, headers: { "Content-Type": "application/json" },
  }).catch(() => {}); // the report is best effort: a failed one must not become another error
}
window.bx24Report = report;

// -- failing loudly ---------------------------------------------------------------------------

function fail(message, error, kind = "boot") {
  const detail = error ? `${message}: ${error.message ?? error}` : message;
  console.error(`${PREFIX} ${message}`, error ?? "");
  if (root.dataset.bx24 === "ready" && root.dataset.bx24Python !== "booting") {
    report("python", detail);
    return;
  }
  // a boot that fails, a relay's that became a Python frame too: the frame is deaf
  if (root.dataset.bx24Python === "booting") root.dataset.bx24Python = "error";
  root.dataset.bx24 = "error";
  root.dataset.bx24Error = detail.slice(0, 4000);
  report(kind, detail);
}

function isError(value) {
  return value instanceof Error || (value && typeof value === "object" && "message" in value);
}

// An uncaught Python error from a JS callback (a proxy that raised) surfaces as a page error.
addEventListener("error", (event) => {
  if (String(event.message).includes("PythonError")) fail("Python failed", event.error ?? event.message);
});
// Promises that fail unseen before Python is ready are clues for the watchdog's report.
const suspects = [];
addEventListener("unhandledrejection", (event) => {
  if (root.dataset.bx24 !== "ready" && suspects.length < 5) {
    const reason = event.reason;
    suspects.push(isError(reason) ? `${reason.name}: ${reason.message}`
      : reason?.type ? `a failed ${reason.type} event from ${reason.target?.constructor?.name}`
        : String(reason));
  }
});

// -- the watchdog -----------------------------------------------------------------------------

// A boot that makes no progress for this long (bx24.toml's watchdog_seconds) is stuck: no step
// of the boot ends, no file arrives. (Slow is not stuck: every finished download counts.)
const STALL_MS = () => config?.watchdogMs ?? 8000;
let step = "starting";
let stall = null;

function booting() {
  if (root.dataset.bx24 === "error") return false;
  return root.dataset.bx24 !== "ready" || root.dataset.bx24Python === "booting";
}

function progress(what) {
  if (what) step = what;
  clearTimeout(stall);
  if (!booting()) return;
  stall = setTimeout(() => {
    if (!booting()) return;
    fail(`boot watchdog: no progress for ${STALL_MS() / 1000} s (last: ${step})` +
      (suspects.length ? `; unhandled: ${suspects.join("; ")}` : ""), null, "watchdog");
    watchRecovery();
  }, STALL_MS());
}

new PerformanceObserver(() => progress()).observe({ type: "resource", buffered: false });
new MutationObserver(() => booting() || clearTimeout(stall))
  .observe(root, { attributes: true, attributeFilter: ["data-bx24", "data-bx24-python"] });

function watchRecovery() {
  const observer = new MutationObserver(() => {
    if (booting() || root.dataset.bx24 === "error") return;
    observer.disconnect();
    report("recovered", `ready after ${Math.round(performance.now() - started)} ms, past the ` +
      "watchdog");
  });
  observer.observe(root, { attributes: true, attributeFilter: ["data-bx24", "data-bx24-python"] });
}

// -- the boot ---------------------------------------------------------------------------------

function preload(rel, href) {
  const link = document.createElement("link");
  link.rel = rel;
  link.href = href;
  if (rel === "preload") {
    link.as = "fetch";
    link.crossOrigin = "anonymous"; // the mode and credentials of PyScript's own fetch()
  }
  document.head.append(link);
}

// index.html's classic scripts (frames.js, BX24, then bridge.js) have run once the document
// is parsed; this async module may run before them.
const parsed = document.readyState === "loading"
  ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }))
  : Promise.resolve();

async function storage() {
  const { indexedDBWorks, memoryIndexedDB } = await import(
    new URL(config.memoryIndexedDB, document.baseURI).href);
  if (await indexedDBWorks()) return;
  Object.defineProperty(window, "indexedDB", { value: memoryIndexedDB, configurable: true });
  console.info(`${PREFIX} IndexedDB is denied to this frame (its site data is blocked): ` +
    "PyScript's caches live in memory for this page");
}

// The Python modules of bx24 and the app, one file (bx24_frame/site.py says why), written
// into the interpreter's files before main.py runs (where PyScript writes its `files`).
function writeModules(FS, modules) {
  const home = FS.cwd().replace(/\/$/, "");
  for (const [path, text] of Object.entries(modules)) {
    let folder = home;
    for (const part of path.split("/").slice(0, -1)) {
      folder += "/" + part;
      try { FS.mkdir(folder); } catch { /* it exists */ }
    }
    FS.writeFile(`${home}/${path}`, text);
  }
}

async function boot(name, interpreter) {
  const modules = fetch(new URL(config.pythonModules, document.baseURI)).then((response) => {
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  });
  modules.catch(() => {}); // reported where it is awaited
  for (const href of interpreter.modules) preload("modulepreload", href);
  preload("preload", config.main);
  for (const href of Object.keys(interpreter.config.files)) preload("preload", href);
  // PyScript reads the config of the <script type="py|mpy" config> present when it is imported,
  // so the element goes in first (into <head>: <body> may not be parsed yet).
  const script = document.createElement("script");
  script.type = interpreter.type;
  script.src = config.main;
  script.setAttribute("config", JSON.stringify(interpreter.config));
  document.head.append(script);
  // PyScript sets up both of its script types, and a type without a config loads every
  // plugin: the other type gets a config of its own, with the same plugins left out.
  for (const other of Object.values(config.interpreters)) {
    if (other.type === interpreter.type) continue;
    const element = document.createElement(`${other.type}-config`);
    element.setAttribute("type", "json");
    element.textContent = JSON.stringify({ plugins: interpreter.config.plugins });
    document.head.append(element);
  }
  let hooks;
  try {
    await storage();
    progress("loading PyScript");
    ({ hooks } = await import(new URL(config.pyscript, document.baseURI).href));
  } catch (error) {
    fail(`cannot load PyScript from ${config.pyscript} (was \`bx24 setup\` run?)`, error);
    return;
  }
  progress(`starting ${name}`);
  // PyScript awaits this once the interpreter is ready, before it touches <body> or runs main.py.
  hooks.main.onReady.add(async (wrap) => {
    try {
      writeModules(wrap.interpreter.FS, await modules);
    } catch (error) {
      fail(`cannot load the Python modules from ${config.pythonModules}`, error);
      throw error;
    }
    progress("running main.py");
    // A Python exception that ends main.py reaches PyScript's stderr as an Error object
    // (plain writes to sys.stderr arrive as text and are left alone).
    const stderr = wrap.io.stderr;
    wrap.io.stderr = (value, ...rest) => {
      if (isError(value)) {
        try {
          value.message = nameFiles(value.message);
          if (typeof value.stack === "string") value.stack = nameFiles(value.stack);
        } catch { /* a read-only error: its names stay */ }
        fail("Python failed", value);
      } else if (typeof value === "string") {
        value = nameFiles(value);  // the library's own tracebacks (bx24/log.py)
      }
      return stderr(value, ...rest);
    };
    if (document.readyState !== "loading") return;
    console.debug(`${PREFIX} Python is ready; main.py waits for the BX24 library and the bridge`);
    await parsed;
  });
  if (name === "pyodide") {
    // urllib in Pyodide goes through synchronous XMLHttpRequest (pyodide-http).
    const patch = "import pyodide_http\npyodide_http.patch_all()";
    hooks.main.codeBeforeRunAsync.add(patch);
    hooks.main.codeBeforeRun.add(patch);
  }
}

progress("reading the boot config");
try {
  config = JSON.parse(document.getElementById("bx24-boot").textContent);
} catch (error) {
  fail("the page carries no readable boot config (#bx24-boot)", error);
}
// The worker's frames.js says whether this frame runs Python (only the leader and a stand-in
// do; the others relay: bx24/frames.js). An application page (boot config `page`) always does.
async function framesScript() {
  if (config.page) return null;
  if (!window.bx24Frames && document.readyState === "loading") {
    await new Promise((resolve) => {
      addEventListener("bx24-frames", resolve, { once: true });
      document.addEventListener("DOMContentLoaded", resolve, { once: true });
    });
  }
  return window.bx24Frames ?? null;
}

async function whenPythonIsWanted() {
  const frames = await framesScript();
  if (!frames?.onPython) return;
  progress("waiting for the frame's role");
  await new Promise((resolve) => frames.onPython((runs) => runs && resolve()));
}

if (config) {
  const choice = new URLSearchParams(location.search).get("interpreter") || config.interpreter;
  interpreterName = choice;
  if (Object.hasOwn(config.interpreters, choice)) {
    await whenPythonIsWanted();
    root.dataset.bx24Python = "booting";
    progress("starting Python");
    window.bx24Prefetch?.();
    await boot(choice, config.interpreters[choice]);
  } else {
    fail(`unknown interpreter "${choice}": use one of ${Object.keys(config.interpreters).join(", ")}`);
  }
}
