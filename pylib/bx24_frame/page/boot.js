// Starts the frame's Python with the PyScript runtime we serve ourselves (never a CDN).
//
// The page carries everything it needs inline (<script id="bx24-boot">, written by
// bx24_frame/site.py): the default interpreter, each interpreter's PyScript config, the URLs
// of PyScript, main.py and the big downloads. Every URL is relative to the page.
//
// Interpreter: the project's default (bx24.toml), or the handler URL's `?interpreter=`
// (`pyodide` or `micropython`).
//
// Why it is shaped this way (docs/performance.md, "Boot order"): PyScript fetches what it needs
// as a chain (its core, the interpreter, each `files` entry, main.py). The page loads this
// module `async` and first, so it starts while the BX24 library and the bridge still load, and
// asks for every link of that chain at once; PyScript then finds each file already on its way.
// Python runs only after the page's classic scripts (BX24, then bridge.js) have run.
//
// A boot that cannot start, or Python that fails before the app attached its card, marks the
// page `data-bx24="error"` (the reason in `data-bx24-error` and the console) at once, so tests
// fail in seconds with the traceback instead of waiting for a ready signal that never comes.

const PREFIX = "[bx24 frame]";
const root = document.documentElement;

function fail(message, error) {
  if (root.dataset.bx24 === "ready") {
    console.error(`${PREFIX} ${message}`, error ?? "");
    return;
  }
  const detail = error ? `${message}: ${error.message ?? error}` : message;
  root.dataset.bx24 = "error";
  root.dataset.bx24Error = detail.slice(0, 4000);
  console.error(`${PREFIX} ${message}`, error ?? "");
}

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

// index.html's classic scripts (BX24, then bridge.js) have run once the document is parsed;
// this async module may run before them.
const parsed = document.readyState === "loading"
  ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }))
  : Promise.resolve();

function isError(value) {
  return value instanceof Error || (value && typeof value === "object" && "message" in value);
}

async function boot(name, interpreter, config) {
  for (const href of interpreter.modules) preload("modulepreload", href);
  for (const href of interpreter.fetches) preload("preload", href);
  preload("preload", config.main);
  for (const href of Object.keys(interpreter.config.files)) preload("preload", href);
  // PyScript reads the config of the <script type="py|mpy" config> present when it is imported,
  // so the element goes in first (into <head>: <body> may not be parsed yet).
  const script = document.createElement("script");
  script.type = interpreter.type;
  script.src = config.main;
  script.setAttribute("config", JSON.stringify(interpreter.config));
  document.head.append(script);
  let hooks;
  try {
    ({ hooks } = await import(new URL(config.pyscript, document.baseURI).href));
  } catch (error) {
    fail(`cannot load PyScript from ${config.pyscript} (was \`bx24 setup\` run?)`, error);
    return;
  }
  // PyScript awaits this once the interpreter is ready, before it touches <body> or runs main.py.
  hooks.main.onReady.add(async (wrap) => {
    // A Python exception that ends main.py reaches PyScript's stderr as an Error object
    // (plain writes to sys.stderr arrive as text and are left alone).
    const stderr = wrap.io.stderr;
    wrap.io.stderr = (value, ...rest) => {
      if (isError(value)) fail("Python failed", value);
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

// An uncaught Python error from a JS callback (a proxy that raised) surfaces as a page error.
addEventListener("error", (event) => {
  if (String(event.message).includes("PythonError")) fail("Python failed", event.error ?? event.message);
});

let config = null;
try {
  config = JSON.parse(document.getElementById("bx24-boot").textContent);
} catch (error) {
  fail("the page carries no readable boot config (#bx24-boot)", error);
}
if (config) {
  const choice = new URLSearchParams(location.search).get("interpreter") || config.interpreter;
  if (Object.hasOwn(config.interpreters, choice)) {
    await boot(choice, config.interpreters[choice], config);
  } else {
    fail(`unknown interpreter "${choice}": use one of ${Object.keys(config.interpreters).join(", ")}`);
  }
}
