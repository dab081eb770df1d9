// The frame's MicroPython (its npm build) in Node, for bx24_testing.micropython: the app's
// Python runs here, the FakePortal in CPython. JSON lines over three pipes (their fds in argv):
//   REQUESTS (in): CPython's requests  {id, op, ...}         → handled by the side module
//   OUT (out):     replies to them     {re, value | error}   and MicroPython's own requests
//   ANSWERS (in):  CPython's answers to MicroPython's requests (read synchronously: the
//                  MicroPython code that asked waits, as a call into the page's JavaScript does)
// argv: the MicroPython module URL, a JSON manifest {files: {mpPath: hostPath}, side: the side
// module's name}, then
// the fds REQUESTS, OUT, ANSWERS.
import fs from "fs";

const [micropythonUrl, manifestJson, ...fds] = process.argv.slice(2);
const [REQUESTS, OUT, ANSWERS] = fds.map(Number);
const manifest = JSON.parse(manifestJson);
const { loadMicroPython } = await import(micropythonUrl);
// main.py runs as "<stdin>" (PyScript's way): tracebacks name it as the test knows it
let mainPath = null;
const named = (line) => (mainPath ? line.replaceAll('File "<stdin>"', `File "${mainPath}"`) : line);
const mp = await loadMicroPython({
  stdout: (line) => process.stdout.write(named(line) + "\n"),
  stderr: (line) => process.stderr.write(named(line) + "\n"),
});

let pending = Buffer.alloc(0);

function readAnswer() {
  const chunk = Buffer.alloc(1 << 16);
  for (;;) {
    const newline = pending.indexOf(10);
    if (newline >= 0) {
      const line = pending.subarray(0, newline).toString("utf8");
      pending = pending.subarray(newline + 1);
      return line;
    }
    let read;
    try {
      read = fs.readSync(ANSWERS, chunk, 0, chunk.length, null);
    } catch (error) {
      if (error.code === "EAGAIN") continue;
      throw error;
    }
    if (read === 0) process.exit(0); // CPython went away
    pending = Buffer.concat([pending, chunk.subarray(0, read)]);
  }
}

mp.registerJsModule("bx24_host", {
  ask: (text) => { fs.writeSync(OUT, text + "\n"); return readAnswer(); },
  send: (text) => { fs.writeSync(OUT, text + "\n"); },
});

const made = new Set();
for (const [target, source] of Object.entries(manifest.files)) {
  const parts = target.split("/").filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const dir = "/" + parts.slice(0, i).join("/");
    if (!made.has(dir)) {
      try { mp.FS.mkdir(dir); } catch { /* there */ }
      made.add(dir);
    }
  }
  mp.FS.writeFile(target, fs.readFileSync(source));
}
const side = mp.pyimport(manifest.side);

let buffered = "";
const requests = fs.createReadStream(null, { fd: REQUESTS, encoding: "utf8" });
requests.on("data", (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (JSON.parse(line).op !== "load") {
      side._bx24_handle(line);
      continue;
    }
    // the app's main.py as PyScript runs it: runPythonAsync from the page's JavaScript, in
    // __main__ (top-level await allowed), not from inside a Python call
    mainPath = JSON.parse(line).path;
    const code = side._prepare(line);
    if (code === null) continue; // told already
    Promise.resolve().then(() => mp.runPythonAsync(code)).then(
      () => side._loaded(line),
      (error) => side._failed(line, String(error.message ?? error)),
    );
  }
});
requests.on("end", () => process.exit(0));
fs.writeSync(OUT, JSON.stringify({ ready: true }) + "\n");
