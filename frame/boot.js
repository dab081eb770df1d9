// Starts the frame's Python with the PyScript runtime we serve ourselves (never a CDN).
//
// Interpreter: Pyodide by default; MicroPython (much faster boot, smaller Python) when the
// handler URL registered with placement.bind carries `?interpreter=micropython`.
// A boot failure is written to the console with what to do about it, and marks the page
// `data-bx24="error"` so tests fail at once instead of waiting.

const PYSCRIPT = "./runtime/npm/@pyscript/core@0.7.31/dist/core.js";
const PYODIDE = "./runtime/npm/pyodide@314.0.2/";
const MICROPYTHON = "./runtime/npm/@micropython/micropython-webassembly-pyscript@1.28.0-6/";
const INTERPRETERS = {
  pyodide: {
    type: "py",
    config: "pyodide.toml",
    modules: ["./pyodide-snapshot.mjs", PYODIDE + "pyodide.mjs", PYODIDE + "pyodide.asm.mjs"],
    files: [PYODIDE + "pyodide.asm.wasm", PYODIDE + "python_stdlib.zip"],
  },
  micropython: {
    type: "mpy",
    config: "micropython.toml",
    modules: [MICROPYTHON + "micropython.mjs"],
    files: [MICROPYTHON + "micropython.wasm"],
  },
};

// PyScript asks for the interpreter only once its own modules and the config are in; asking
// now lets the interpreter's module and wasm load (from the HTTP cache, on warm loads) meanwhile.
function preload(rel, href) {
  const link = document.createElement("link");
  link.rel = rel;
  link.href = href;
  if (rel === "preload") {
    link.as = "fetch";
    link.crossOrigin = "anonymous"; // the mode and credentials of the interpreter's own fetch
  }
  document.head.append(link);
}

function fail(message, error) {
  document.documentElement.dataset.bx24 = "error";
  console.error(`[bx24 frame] ${message}`, error ?? "");
}

const choice = new URLSearchParams(location.search).get("interpreter") || "pyodide";
const interpreter = INTERPRETERS[choice];

if (!interpreter) {
  fail(`unknown interpreter "${choice}": use one of ${Object.keys(INTERPRETERS).join(", ")}`);
} else {
  for (const href of interpreter.modules) preload("modulepreload", href);
  for (const href of interpreter.files) preload("preload", href);
  // PyScript reads the config of the <script type="py|mpy" config> present when it is imported,
  // so the element goes in first.
  const script = document.createElement("script");
  script.type = interpreter.type;
  script.src = "main.py";
  script.setAttribute("config", interpreter.config);
  document.body.append(script);
  try {
    const { hooks } = await import(PYSCRIPT);
    if (choice === "pyodide") {
      // urllib in Pyodide goes through synchronous XMLHttpRequest (pyodide-http). Hooks are
      // read when the interpreter is ready to run main.py, long after this line; PyScript runs
      // the Async set for async scripts (its default) and the other for sync ones.
      const patch = "import pyodide_http\npyodide_http.patch_all()";
      hooks.main.codeBeforeRunAsync.add(patch);
      hooks.main.codeBeforeRun.add(patch);
    }
  } catch (error) {
    fail(`cannot load PyScript from ${PYSCRIPT} (was the set-up run?)`, error);
  }
}
