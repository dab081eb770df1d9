// Starts the frame's Python with the PyScript runtime we serve ourselves (never a CDN).
//
// Interpreter: Pyodide by default; MicroPython (much faster boot, smaller Python) when the
// handler URL registered with placement.bind carries `?interpreter=micropython`.
// A boot failure is written to the console with what to do about it, and marks the page
// `data-bx24="error"` so tests fail at once instead of waiting.
//
// Why it is shaped this way (docs/performance.md, "Boot order"): PyScript fetches what it needs
// as a chain (its core, the config, the interpreter, each of the config's `files`, main.py),
// one step after the other. index.html loads this module `async` and first, so it starts while
// the BX24 library and the bridge still load, and asks for every link of that chain at once; then
// it hands PyScript the config inline, so PyScript finds each file already on its way. Python
// runs only after the page's classic scripts (BX24, then bridge.js) have run.

const PYSCRIPT = "./runtime/npm/@pyscript/core@0.7.31/dist/core.js";
const PYODIDE = "./runtime/npm/pyodide@314.0.2/";
const MICROPYTHON = "./runtime/npm/@micropython/micropython-webassembly-pyscript@1.28.0-6/";
const MAIN = "main.py";
const INTERPRETERS = {
  pyodide: {
    type: "py",
    config: "pyodide.json",
    modules: ["./pyodide-snapshot.mjs", PYODIDE + "pyodide.mjs", PYODIDE + "pyodide.asm.mjs"],
    files: [PYODIDE + "pyodide.asm.wasm", PYODIDE + "python_stdlib.zip"],
  },
  micropython: {
    type: "mpy",
    config: "micropython.json",
    modules: [MICROPYTHON + "micropython.mjs"],
    files: [MICROPYTHON + "micropython.wasm"],
  },
};

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

const PREFIX = "[bx24 frame]";

function fail(message, error) {
  document.documentElement.dataset.bx24 = "error";
  console.error(`${PREFIX} ${message}`, error ?? "");
}

// index.html's classic scripts (BX24, then bridge.js) have run once the document is parsed;
// this async module may run before them.
const parsed = document.readyState === "loading"
  ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }))
  : Promise.resolve();

// The PyScript config, with its URLs made absolute against the config's own URL: that is what
// PyScript does with a config it fetches itself, while an inline one would be read against the
// page's URL.
async function readConfig(name) {
  const url = new URL(name, document.baseURI);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const config = await response.json();
  if (config.interpreter) config.interpreter = new URL(config.interpreter, url).href;
  config.files = Object.fromEntries(Object.entries(config.files ?? {}).map(
    ([source, target]) => [new URL(source, url).href, target]));
  return config;
}

async function boot(name, interpreter) {
  for (const href of interpreter.modules) preload("modulepreload", href);
  for (const href of interpreter.files) preload("preload", href);
  preload("preload", MAIN);
  let config;
  try {
    config = await readConfig(interpreter.config);
  } catch (error) {
    fail(`cannot read the PyScript config ${interpreter.config}`, error);
    return;
  }
  for (const href of Object.keys(config.files)) preload("preload", href);
  // PyScript reads the config of the <script type="py|mpy" config> present when it is imported,
  // so the element goes in first (into <head>: <body> may not be parsed yet).
  const script = document.createElement("script");
  script.type = interpreter.type;
  script.src = MAIN;
  script.setAttribute("config", JSON.stringify(config));
  document.head.append(script);
  let hooks;
  try {
    ({ hooks } = await import(PYSCRIPT));
  } catch (error) {
    fail(`cannot load PyScript from ${PYSCRIPT} (was the set-up run?)`, error);
    return;
  }
  // PyScript awaits this once the interpreter is ready, before it touches <body> or runs main.py.
  hooks.main.onReady.add(async () => {
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

const choice = new URLSearchParams(location.search).get("interpreter") || "pyodide";
if (Object.hasOwn(INTERPRETERS, choice)) {
  await boot(choice, INTERPRETERS[choice]);
} else {
  fail(`unknown interpreter "${choice}": use one of ${Object.keys(INTERPRETERS).join(", ")}`);
}
