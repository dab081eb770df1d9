// Starts the frame's Python with the PyScript runtime we serve ourselves (never a CDN).
//
// Interpreter: Pyodide by default; MicroPython (much faster boot, smaller Python) when the
// handler URL registered with placement.bind carries `?interpreter=micropython`.
// A boot failure is written to the console with what to do about it, and marks the page
// `data-bx24="error"` so tests fail at once instead of waiting.

const PYSCRIPT = "./runtime/npm/@pyscript/core@0.7.31/dist/core.js";
const INTERPRETERS = {
  pyodide: { type: "py", config: "pyodide.toml" },
  micropython: { type: "mpy", config: "micropython.toml" },
};

function fail(message, error) {
  document.documentElement.dataset.bx24 = "error";
  console.error(`[bx24 frame] ${message}`, error ?? "");
}

const choice = new URLSearchParams(location.search).get("interpreter") || "pyodide";
const interpreter = INTERPRETERS[choice];

if (!interpreter) {
  fail(`unknown interpreter "${choice}": use one of ${Object.keys(INTERPRETERS).join(", ")}`);
} else {
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
