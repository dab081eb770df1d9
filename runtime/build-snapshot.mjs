// Builds the Pyodide memory snapshot the frame boots from (frame/pyodide-snapshot.mjs).
//
// Why at set-up: initialising CPython and importing the stdlib modules and the bx24 library is
// the same work on every page load; doing it once here and shipping the memory
// image turns seconds of boot into a restore. `./dev.sh setup` runs this when the runtime,
// pylib/bx24 or the frame's files change (stamp), as: node runtime/build-snapshot.mjs
//
// The interpreter gets exactly the files frame/pyodide.json's `files` gives PyScript, at the
// same paths, so what the snapshot imported is what
// the page would import; then SNAPSHOT_IMPORTS are imported, and the frame's own modules
// (those files) are dropped again, so the image holds the stdlib modules they use but never a
// copy of code that may be edited later. A module among them that imports `js` or `pyscript`
// fails the build: keep such imports out of bx24's package __init__.
//
// Output: runtime/snapshot/<sha256 prefix>.snapshot and manifest.json naming it.
// Optional argument: another PyScript config than frame/pyodide.json (its URLs are the frame's).

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide, version } from "./node_modules/pyodide/pyodide.mjs";

const RUNTIME = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(RUNTIME, "..");
const FRAME = join(REPO, "frame");
const OUT = join(RUNTIME, "snapshot");
const HOME = "/home/pyodide"; // Pyodide's working directory, where PyScript writes `files`
// What the image is prepared for (their stdlib imports are kept). Only modules that do not look
// at the JavaScript side when imported: the image is made in Node, and such a module would keep
// what it saw there.
const SNAPSHOT_IMPORTS = [
  "bx24",
  // The stdlib modules that PyScript's own `pyscript` package and pyodide_http import on every
  // boot. Neither can be imported here (both reach for the page's JS at import), so their stdlib
  // imports are listed instead: importing them at boot cost ~450 ms of a ~1.4 s warm boot.
  // tests/e2e/test_snapshot.py fails, naming the module, when a boot imports one not in the image.
  "datetime", "hashlib", "html", "html.entities", "http.client", "ipaddress", "quopri",
  "urllib.error", "urllib.parse", "urllib.request", "urllib.response",
];

// The frame's URLs (docs/architecture.md) → the files the server answers them with.
function localPath(url) {
  const path = new URL(url, "http://frame/").pathname;
  const npm = path.match(/^\/runtime\/npm\/((?:@[^/]+\/)?[^@/]+)@[^/]+\/(.+)$/);
  if (npm) return join(RUNTIME, "node_modules", npm[1], npm[2]);
  if (path.startsWith("/runtime/pypi/")) return join(RUNTIME, "wheels", path.slice(14));
  if (path.startsWith("/pylib/bx24/")) return join(REPO, "pylib", "bx24", path.slice(12));
  return join(FRAME, path.slice(1));
}

async function main() {
  const configPath = resolve(process.argv[2] ?? join(FRAME, "pyodide.json"));
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  const py = await loadPyodide({ _makeSnapshot: true, stdout: console.log, stderr: console.error });
  for (const [url, target] of Object.entries(config.files ?? {})) {
    const data = new Uint8Array(readFileSync(localPath(url)));
    if (target.endsWith("/*")) {
      const format = url.match(/\.(whl|zip|tar\.gz|tgz)$/)?.[1];
      if (!format) throw new Error(`${url}: PyScript unpacks only whl, zip, tgz archives`);
      const dir = resolve(HOME, target.slice(0, -1));
      py.unpackArchive(data, format, { extractDir: dir });
    } else {
      const path = resolve(HOME, target);
      py.FS.mkdirTree(dirname(path));
      py.FS.writeFile(path, data);
    }
  }
  const names = SNAPSHOT_IMPORTS;
  try {
    py.runPython(names.map((name) => `import ${name}`).join("\n"));
  } catch (error) {
    throw new Error(`importing ${names.join(", ")} with the files of ${configPath} failed ` +
      `(is every module they import listed in its "files"?):\n${error.message}`);
  }
  const touched = py.runPython(`import sys; [m for m in ("js", "pyscript") if m in sys.modules]`)
    .toJs();
  if (touched.length) {
    throw new Error(`importing ${names.join(", ")} imported ${touched.join(", ")}: a module that ` +
      "looks at the JavaScript side when imported would keep what it saw in Node, not the page");
  }
  // Keep what they imported from the stdlib, forget the frame's own modules: the page then
  // imports bx24 (and the user's modules) from the files served now, so code edited after the
  // set-up runs as edited, never a stale copy frozen in the image.
  const kept = py.runPython(`
import gc, importlib, sys
def _forget_own_modules():
    for name in [name for name, module in sys.modules.items()
                 if (getattr(module, "__file__", None) or "").startswith("${HOME}/")]:
        del sys.modules[name]
    gc.collect()
    importlib.invalidate_caches()
    return sorted(sys.modules)
_forget_own_modules()
`, { globals: py.toPy({}) }).toJs();  // a scratch namespace: nothing left in __main__
  const image = py.makeMemorySnapshot();

  const hash = createHash("sha256").update(image).digest("hex").slice(0, 16);
  const file = `${hash}.snapshot`;
  mkdirSync(OUT, { recursive: true });
  for (const old of readdirSync(OUT)) if (old.endsWith(".snapshot")) rmSync(join(OUT, old));
  writeFileSync(join(OUT, file), image);
  const manifest = { pyodide: version, snapshot: file, prepared_for: names, bytes: image.length,
    modules: kept };
  writeFileSync(join(OUT, "manifest.json.tmp"), JSON.stringify(manifest, null, 2) + "\n");
  renameSync(join(OUT, "manifest.json.tmp"), join(OUT, "manifest.json"));
  console.log(`Pyodide ${version} snapshot prepared for ${names.join(", ")}: ` +
    `runtime/snapshot/${file} (${(image.length / 2 ** 20).toFixed(1)} MiB)`);
}

main().catch((error) => {
  console.error(`[build-snapshot] ${error.stack || error}`);
  process.exit(1);
});
