"""Frame benchmarks in Chromium: boot (cold and warm), event → command latency, memory.

The BX24 stub is served from its own loopback host (``servers.bx24_stub_host``), not through
Playwright's request routing, which would disable the HTTP cache. Boot is measured inside the
page: from the navigation's time origin to the moment
``<html data-bx24="ready">`` is set (a MutationObserver installed before any page script
records ``performance.now()``), so the driver's own overhead is not counted. Loads of the
different rows are interleaved so that a busy machine slows all rows alike.

Cold: a fresh browser context per load (empty HTTP and code caches). Warm: one persistent
profile per row, warmed up first, a new page per load (HTTP cache and V8's wasm code cache warm).
"""

import json
import re
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from bx24_testing.browser import launch_args
from bx24_testing.frame import READY_SIGNAL, post_like_bitrix24

READY_TIMEOUT_MS = 120_000

RECORD_READY = """
new MutationObserver(() => {
  if (document.documentElement?.dataset.bx24 === "ready" && window.__bx24ReadyAt === undefined)
    window.__bx24ReadyAt = performance.now();
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-bx24"]});
"""

# Ring the app's stand-in softphone (its call is registered and its card shown) and answer
# (the naive row has no softphone: a connected card is raised for it), then fire
# muteButtonClick n times, each after the previous CallCardSetMute was recorded.
MEASURE_LATENCY = """
async (n) => {
  const stub = window.BX24Stub;
  let waiting = null;
  stub.onChange((kind, entry) => {
    if (waiting && kind === "command" && waiting.command === entry.command) {
      const done = waiting.resolve; waiting = null; done(entry.time);
    }
  });
  const next = (command) => new Promise((resolve) => { waiting = {command, resolve}; });
  const title = next("CallCardSetCardTitle");
  // an app's SIP softphone (the sample's) starts a moment after ready: the frame's role, then
  // the operator's account; the naive row's app never has one
  for (let i = 0; i < 40 && !window.bx24StandInSoftphone && window.bx24Frames; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (window.bx24StandInSoftphone) {
    stub.softphone("ring", "+15550001122");
    await title;
    const connected = next("CallCardSetUiState");
    stub.click("answer");
    await connected;
  } else {  // the naive row's app: a card Bitrix24 raised, connected
    stub.raiseCall({}, {uiState: "connected"});
    await title;
  }
  const samples = [];
  for (let i = 0; i < n; i++) {
    const recorded = next("CallCardSetMute");
    const start = performance.now();
    stub.fire("muteButtonClick", i % 2 === 0);
    samples.push((await recorded) - start);
  }
  return samples;
}
"""


class Row:
    """One frame to measure: its URL and whether Bitrix24's POST reaches it (a static server
    without POST support is loaded with GET)."""

    def __init__(self, name, url, post=True, headers=None):
        self.name, self.url, self.post, self.headers = name, url, post, headers
        self.cold, self.warm, self.latency = [], [], []
        self.js_heap, self.rss = [], []
        self.failures = []


def _load(page, row):
    """Navigate ``page`` to the row's frame as Bitrix24 does (a form POST, or GET for a server
    that has no POST); return ms from navigation start to the ready signal."""
    page.add_init_script(RECORD_READY)
    if row.headers:  # not a route: routing would disable the HTTP cache
        page.set_extra_http_headers(row.headers)
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    if row.post:
        post_like_bitrix24(page, row.url)
    else:
        page.goto(row.url, wait_until="commit")
    try:
        page.wait_for_function(READY_SIGNAL, timeout=READY_TIMEOUT_MS)
    except Exception:
        raise RuntimeError(
            f"{row.name}: not ready within {READY_TIMEOUT_MS} ms\n" + "\n".join(console)
        ) from None
    state = page.evaluate("document.documentElement.dataset.bx24")
    if state != "ready":
        raise RuntimeError(f"{row.name}: boot failed ({state})\n" + "\n".join(console))
    return page.evaluate("window.__bx24ReadyAt")


def _renderer_rss(browser):
    """RSS in bytes of the busiest renderer process (the frame's, with one page open)."""
    cdp = browser.new_browser_cdp_session()
    try:
        info = cdp.send("SystemInfo.getProcessInfo")["processInfo"]
    finally:
        cdp.detach()
    renderers = sorted(
        (p for p in info if p["type"] == "renderer"), key=lambda p: p["cpuTime"], reverse=True
    )
    for proc in renderers:
        try:
            status = Path(f"/proc/{proc['id']}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            return int(match.group(1)) * 1024
    return None


def _js_heap(page):
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("HeapProfiler.collectGarbage")
        cdp.send("Performance.enable")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    finally:
        cdp.detach()
    return metrics.get("JSHeapUsedSize")


def _attempt(row, page, log):
    """One load; a frame that does not get ready is counted as a failure, not a number, and
    the run goes on (the table shows the count)."""
    try:
        return _load(page, row)
    except (RuntimeError, PlaywrightError) as error:  # a crashed renderer counts as failed
        row.failures.append(str(error))
        log(f"  {row.name}: load failed: {str(error)[:500]}")
        return None


def _ms(value):
    return "failed" if value is None else f"{value:.0f} ms"


def measure(playwright, rows, loads, warmups, events, browser_args=(), log=print):
    """Fill each row's samples: ``loads`` cold and warm boots, ``events`` latencies per warm
    load, memory per cold load. ``browser_args``: extra Chromium flags (the stub host's)."""
    options = launch_args()
    options["args"] = options.get("args", []) + list(browser_args)
    browser = playwright.chromium.launch(**options)
    profiles = tempfile.TemporaryDirectory(prefix="bx24-bench-profiles-")
    warm = {}
    try:
        for row in rows:
            warm[row.name] = playwright.chromium.launch_persistent_context(
                str(Path(profiles.name, row.name)), **options
            )
        for _ in range(warmups):
            for row in rows:
                page = warm[row.name].new_page()
                _attempt(row, page, log)
                page.close()
        for i in range(loads):
            for row in rows:
                context = browser.new_context()
                page = context.new_page()
                boot = _attempt(row, page, log)
                row.cold.append(boot)
                if boot is not None:
                    row.js_heap.append(_js_heap(page))
                    row.rss.append(_renderer_rss(browser))
                context.close()

                page = warm[row.name].new_page()
                boot = _attempt(row, page, log)
                row.warm.append(boot)
                if boot is not None:
                    row.latency.extend(page.evaluate(MEASURE_LATENCY, events))
                page.close()
            log(
                f"  load {i + 1}/{loads}: "
                + ", ".join(f"{r.name} {_ms(r.cold[-1])}/{_ms(r.warm[-1])}" for r in rows)
            )
    finally:
        for context in warm.values():
            context.close()
        browser.close()
        profiles.cleanup()


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary(rows):
    return {
        r.name: {
            "cold_ms": median(r.cold),
            "warm_ms": median(r.warm),
            "latency_ms": median(r.latency),
            "js_heap_bytes": median(r.js_heap),
            "rss_bytes": median(r.rss),
            "failed_loads": len(r.failures),
            "samples": {"cold": r.cold, "warm": r.warm, "latency": r.latency},
        }
        for r in rows
    }


if __name__ == "__main__":  # one frame only: python bench/frames_bench.py URL [LOADS]
    import sys

    from playwright.sync_api import sync_playwright

    import servers

    with (
        tempfile.TemporaryDirectory() as tmp,
        servers.bx24_stub_host(tmp) as stub,
        sync_playwright() as p,
    ):
        row = Row("frame", sys.argv[1])
        measure(
            p,
            [row],
            int(sys.argv[2]) if len(sys.argv) > 2 else 3,
            warmups=2,
            events=5,
            browser_args=servers.stub_browser_args(stub),
        )
        print(json.dumps(summary([row]), indent=2))
