"""HTTP load benchmarks with wrk: requests/s and p50/p99 latency of one request shape.

wrk (Debian's package) is a well-kept load generator; a Lua script gives it the method, body and
headers, and prints its summary as JSON so nothing is parsed out of its human output.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from bx24_testing.frame import BITRIX_POST_FIELDS

LUA = """
wrk.method = {method}
wrk.body = {body}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept-Encoding"] = "gzip"
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write("BENCH-JSON " .. string.format(
    '{{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
"""


def lua_string(text):
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def wrk_available():
    return shutil.which("wrk") is not None


def run(url, method="GET", connections=50, seconds=5, threads=2):
    """Load ``url`` for ``seconds``; returns requests/s, p50/p99 in ms and the error count."""
    body = urlencode(BITRIX_POST_FIELDS) if method == "POST" else ""
    with tempfile.TemporaryDirectory(prefix="bx24-wrk-") as tmp:
        script = Path(tmp, "bench.lua")
        script.write_text(LUA.format(method=lua_string(method), body=lua_string(body)))
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    line = next(row for row in out.splitlines() if row.startswith("BENCH-JSON "))
    stats = json.loads(line.split(" ", 1)[1])
    errors = sum(stats[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {
        "rps": stats["requests"] / (stats["duration_us"] / 1e6),
        "p50_ms": stats["p50_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000,
        "errors": errors,
        "mib_s": stats["bytes"] / 2**20 / (stats["duration_us"] / 1e6),
    }
