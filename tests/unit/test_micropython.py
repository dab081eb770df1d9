"""The pure bx24 modules under the real MicroPython the frame uses (its npm build, in Node)."""

import pathlib
import shutil
import subprocess


from bx24_frame.runtime import MICROPYTHON as PACKAGE, Runtime

ROOT = pathlib.Path(__file__).resolve().parents[2]
MICROPYTHON = Runtime().require().package_dir(PACKAGE) / "micropython.mjs"
NODE = shutil.which("node")

RUNNER = r"""
import { loadMicroPython } from "MICROPYTHON";
import fs from "fs";
const lines = [];
const mp = await loadMicroPython({ stdout: (s) => lines.push(s), stderr: (s) => lines.push(s) });
mp.FS.mkdir("/lib"); mp.FS.mkdir("/lib/bx24");
for (const f of fs.readdirSync("PACKAGE")) {
  if (f.endsWith(".py") && f !== "browser.py") mp.FS.writeFile("/lib/bx24/" + f, fs.readFileSync("PACKAGE/" + f));
}
let failed = false;
try {
  await mp.runPythonAsync("import sys\nsys.path.append('/lib')\n" + fs.readFileSync("SCENARIO", "utf8"));
} catch (error) {
  failed = true;
  lines.push(error.message);
}
process.stdout.write(lines.join("\n"), () => process.exit(failed ? 1 : 0));
"""


def test_library_scenario_runs_on_micropython(tmp_path):
    runner = tmp_path / "run.mjs"
    runner.write_text(
        RUNNER.replace("MICROPYTHON", MICROPYTHON.as_uri())
        .replace("PACKAGE", str(ROOT / "pylib" / "bx24"))
        .replace("SCENARIO", str(pathlib.Path(__file__).with_name("micropython_scenario.py")))
    )
    done = subprocess.run([NODE, str(runner)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "MICROPYTHON OK" in done.stdout, done.stdout + done.stderr
