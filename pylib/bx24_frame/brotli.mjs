// Brotli copies of the frame's large files, made once at `bx24 setup` (bx24_frame/cli.py).
//
// Why Node: it is there already (the set-up installs the runtime with npm), its zlib has
// brotli built in, and Python's standard library has none. Quality 11 with a 16 MiB window:
// the slowest setting (~30 s for the snapshot) and the smallest bytes (pyodide.asm.wasm 3.6 MB
// with gzip, 2.8 MB; the snapshot 6.9 MB, 4.5 MB), paid once per file version.
//
// stdin: JSON [[source, destination], ...]; each destination is written whole (a temporary
// file renamed), in parallel on libuv's thread pool. stdout: JSON [[destination, bytes], ...].
import fs from "node:fs";
import zlib from "node:zlib";
import { promisify } from "node:util";

const compress = promisify(zlib.brotliCompress);
const jobs = JSON.parse(fs.readFileSync(0, "utf8"));
const done = await Promise.all(jobs.map(async ([source, destination]) => {
  const data = await fs.promises.readFile(source);
  const encoded = await compress(data, { params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
    [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
  } });
  const temporary = `${destination}.${process.pid}.tmp`;
  await fs.promises.writeFile(temporary, encoded);
  await fs.promises.rename(temporary, destination);
  return [destination, encoded.length];
}));
process.stdout.write(JSON.stringify(done));
