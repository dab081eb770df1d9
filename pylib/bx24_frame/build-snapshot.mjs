// Builds a Pyodide memory snapshot: `node build-snapshot.mjs SPEC.json` (bx24_frame.snapshot
// writes the spec and runs this at `bx24 setup`).
//
// Why: initialising CPython and importing the stdlib modules the app uses is the same work on
// every page load; doing it once here and shipping the memory image turns seconds of boot into
// a restore (the frame's pyodide-snapshot.mjs restores it).
//
// The spec: {pyodide: path of pyodide.mjs, stdlib: the stdlib zip the page will load with the
// image (bx24_frame/snapshot.py, stored_stdlib), home: the interpreter's working folder, files:
// [[local path, path under home]], imports: [module names], out: folder}. The files are written
// where PyScript will write them in the page, the modules are imported, then every module
// loaded from those files is dropped again: the image keeps the stdlib modules they use, never
// a copy of code that may be edited later. A module that imports `js` or `pyscript` when
// imported fails the build (it would keep what it saw in Node, not the page).
//
// Deterministic: the same spec gives the same bytes (hosts behind one load balancer must serve
// the same image under the same name). Randomness and the clock are fixed while it is built:
// the str hash seed, `random`'s state (the page reseeds it after each restore), the entropy and
// the file timestamps the interpreter sees.
//
// Output: <out>/<sha256 prefix>.snapshot and <out>/manifest.json naming it.

import { createHash } from "node:crypto";
import nodeCrypto from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

function deterministic() {
  let state = 0x2545f491;
  const fill = (array) => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) {
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5; // xorshift32
      bytes[i] = state & 0xff;
    }
    return array;
  };
  crypto.getRandomValues = fill;
  nodeCrypto.randomFillSync = fill;
  const epoch = Date.UTC(2020, 0, 1);
  Date.now = () => epoch;
  performance.now = () => 0;
}

async function main() {
  const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
  deterministic();
  const { loadPyodide, version } = await import(pathToFileURL(spec.pyodide).href);
  const py = await loadPyodide({
    _makeSnapshot: true, env: { PYTHONHASHSEED: "0", HOME: spec.home }, stdLibURL: spec.stdlib,
    stdout: console.log, stderr: console.error,
  });
  for (const [local, target] of spec.files) {
    const path = resolve(spec.home, target);
    py.FS.mkdirTree(dirname(path));
    py.FS.writeFile(path, new Uint8Array(readFileSync(local)));
  }
  py.FS.chdir(spec.home);
  const names = spec.imports;
  try {
    py.runPython(names.map((name) => `import ${name}`).join("\n"));
  } catch (error) {
    throw new Error(`importing ${names.join(", ")} failed:\n${error.message}`);
  }
  const touched = py.runPython(`import sys; [m for m in ("js", "pyscript") if m in sys.modules]`)
    .toJs();
  if (touched.length) {
    throw new Error(`importing ${names.join(", ")} imported ${touched.join(", ")}: a module that ` +
      "looks at the JavaScript side when imported would keep what it saw in Node, not the page");
  }
  const kept = py.runPython(`
import gc, importlib, sys
def _forget_own_modules():
    for name in [name for name, module in sys.modules.items()
                 if (getattr(module, "__file__", None) or "").startswith(${JSON.stringify(spec.home + "/")})]:
        del sys.modules[name]
    if "random" in sys.modules:
        sys.modules["random"].seed(0)
    gc.collect()
    importlib.invalidate_caches()
    return sorted(sys.modules)
_forget_own_modules()
`, { globals: py.toPy({}) }).toJs(); // a scratch namespace: nothing left in __main__
  const image = py.makeMemorySnapshot();

  const hash = createHash("sha256").update(image).digest("hex").slice(0, 16);
  const file = `${hash}.snapshot`;
  mkdirSync(spec.out, { recursive: true });
  for (const old of readdirSync(spec.out)) if (old.endsWith(".snapshot")) rmSync(join(spec.out, old));
  writeFileSync(join(spec.out, file), image);
  const manifest = { pyodide: version, snapshot: file, stdlib: basename(spec.stdlib),
    imports: names, bytes: image.length, modules: kept };
  writeFileSync(join(spec.out, "manifest.json.tmp"), JSON.stringify(manifest, null, 2) + "\n");
  renameSync(join(spec.out, "manifest.json.tmp"), join(spec.out, "manifest.json"));
  console.log(`Pyodide ${version} snapshot prepared for ${names.join(", ")}: ` +
    `${join(spec.out, file)} (${(image.length / 2 ** 20).toFixed(1)} MiB)`);
}

main().catch((error) => {
  console.error(`[build-snapshot] ${error.stack || error}`);
  process.exit(1);
});
