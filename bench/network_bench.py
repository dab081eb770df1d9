"""Boot on operators' networks: the frame as a portal loads it, over an emulated link.

What an operator lives with on every page view and slider is not loopback: the frame is an
iframe of the portal (another site), POSTed by Bitrix24's form, over an office or a remote
link. Each load here is that:

- the parent is the kit's portal stand-in (``bx24_testing.portal``) on the other loopback name,
  so the frame is cross-site (site isolation puts it in a process of its own), in a profile
  that allows third-party storage, as a regular Chrome window does;
- the network profile is applied with Chromium's own emulation (``Network.
  emulateNetworkConditions``: added round-trip latency, download and upload throughput) to the
  portal page **and to the frame's own target**: emulation set on a page does not reach an
  out-of-process iframe, so the page's CDP session auto-attaches to it (paused until the
  profile is set) and sets it there too;
- measured, all against the moment the portal submits the form: the iframe's ``load`` event
  (what Bitrix24's 5-second rule measures), the ready signal (``data-bx24="ready"``: Python is
  up and the app attached; until then the worker is deaf), and from the frame's network events:
  requests that went to the network (not answered from the browser's cache), revalidations
  (HTTP 304), bytes on the wire (``encodedDataLength``).

Cold: a new profile per load (empty HTTP cache and code cache). Warm: one profile per row,
warmed up first, a new page per load: the next page view of the same operator. Rows are
interleaved so that a busy machine slows all alike.
"""

import json
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from bx24_testing.browser import launch_args
from bx24_testing.frame import BITRIX_POST_FIELDS, READY_SIGNAL
from bx24_testing.portal import portal

READY_TIMEOUT_MS = 60_000
MBIT = 1_000_000 / 8  # bytes per second

# name: (added round-trip latency ms, download bytes/s, upload bytes/s), or None: no emulation
NETWORKS = {
    "none": None,
    "office": (20, 50 * MBIT, 20 * MBIT),
    "remote": (100, 20 * MBIT, 5 * MBIT),
}

# In every frame of the page: the portal records when it submits Bitrix24's form and when the
# iframe's load event fires; the frame records when it signals ready. Epoch milliseconds, so
# the two documents (two processes) compare.
RECORD = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const submit = HTMLFormElement.prototype.submit;
  HTMLFormElement.prototype.submit = function () {
    const frame = document.querySelector("iframe");
    if (frame) frame.addEventListener("load", () => { window.__benchLoaded = now(); },
                                      {once: true});
    window.__benchSubmitted = now();
    return submit.call(this);
  };
  new MutationObserver(() => {
    if (document.documentElement?.dataset.bx24 === "ready" && window.__benchReady === undefined)
      window.__benchReady = now();
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-bx24"]});
})();
"""


class Row:
    """One frame on one network: its samples (dicts of load_ms, ready_ms, requests,
    revalidations, bytes), cold and warm."""

    def __init__(self, frame, url, network):
        self.frame, self.url, self.network = frame, url, network
        self.name = f"{frame} / {network}"
        self.cold, self.warm, self.failures = [], [], []


class Traffic:
    """The frame's requests, from CDP network events of the page and of the frame's own target
    (auto-attached, paused until the network profile is set on it)."""

    def __init__(self, page, conditions, portal_origin):
        self.portal_origin = portal_origin
        self.requests = {}  # requestId -> url
        self.statuses = {}  # requestId -> HTTP status
        self.bytes = {}  # requestId -> bytes on the wire
        self.cached = set()  # requestIds answered from the browser's cache
        self.revalidated = set()  # requestIds the server answered 304
        self._ids = iter(range(1, 1_000_000))
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.requestWillBeSent", self._event("Network.requestWillBeSent"))
        self.cdp.on("Network.responseReceived", self._event("Network.responseReceived"))
        self.cdp.on("Network.loadingFinished", self._event("Network.loadingFinished"))
        self.cdp.on("Network.requestServedFromCache", self._event("Network.requestServedFromCache"))
        self.cdp.on(
            "Network.responseReceivedExtraInfo", self._event("Network.responseReceivedExtraInfo")
        )
        self.cdp.on("Target.attachedToTarget", self._attached)
        self.cdp.on("Target.receivedMessageFromTarget", self._from_target)
        self.settings = [("Network.enable", {})]
        if conditions:
            latency, down, up = conditions
            self.settings.append(
                (
                    "Network.emulateNetworkConditions",
                    {
                        "offline": False,
                        "latency": latency,
                        "downloadThroughput": down,
                        "uploadThroughput": up,
                    },
                )
            )
        for method, params in self.settings:
            self.cdp.send(method, params)
        self.cdp.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False},
        )

    def _event(self, method):
        return lambda params: self._record(method, params)

    def _record(self, method, params):
        rid = params.get("requestId")
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(self.portal_origin) and not url.startswith("data:"):
                self.requests[rid] = url
        elif rid in self.requests and method == "Network.responseReceived":
            response = params["response"]
            self.statuses[rid] = response["status"]
            if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
                self.cached.add(rid)
        elif rid in self.requests and method == "Network.requestServedFromCache":
            self.cached.add(rid)
        elif method == "Network.responseReceivedExtraInfo" and params.get("statusCode") == 304:
            self.revalidated.add(rid)  # (the page sees the cached 200; the wire said 304)
        elif rid in self.requests and method == "Network.loadingFinished":
            self.bytes[rid] = params.get("encodedDataLength", 0)

    def _send_to(self, session, method, params=None):
        self.cdp.send(
            "Target.sendMessageToTarget",
            {
                "sessionId": session,
                "message": json.dumps(
                    {"id": next(self._ids), "method": method, "params": params or {}}
                ),
            },
        )

    def _attached(self, event):
        session = event["sessionId"]
        for method, params in self.settings:
            self._send_to(session, method, params)
        self._send_to(session, "Runtime.runIfWaitingForDebugger")

    def _from_target(self, event):
        message = json.loads(event["message"])
        if "method" in message:
            self._record(message["method"], message.get("params", {}))

    def summary(self):
        return {
            "requests": len(set(self.requests) - self.cached),
            "revalidations": len(self.revalidated & set(self.requests)),
            "bytes": sum(self.bytes.values()),
        }


def _frame_of(page, url, timeout_s=30):
    for _ in range(int(timeout_s * 20)):
        frame = next(
            (
                f
                for f in page.frames
                if f.url.startswith(url.split("?")[0]) and f != page.main_frame
            ),
            None,
        )
        if frame is not None:
            return frame
        page.wait_for_timeout(50)
    raise RuntimeError("the portal never loaded the frame")


def load(context, row):
    """One page view of ``row``'s frame in ``context``: its sample, or RuntimeError."""
    stand_in = portal()
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        traffic = Traffic(page, NETWORKS[row.network], stand_in.origin_for(row.url))
        page.goto(stand_in.url_for(row.url, BITRIX_POST_FIELDS), wait_until="commit")
        frame = _frame_of(page, row.url)
        try:
            frame.wait_for_function(READY_SIGNAL, timeout=READY_TIMEOUT_MS, polling=20)
        except Exception:
            raise RuntimeError(
                f"{row.name}: not ready in {READY_TIMEOUT_MS} ms\n" + "\n".join(console)
            ) from None
        state = frame.evaluate("document.documentElement.dataset.bx24")
        if state != "ready":
            raise RuntimeError(
                f"{row.name}: boot failed: "
                + str(frame.evaluate("document.documentElement.dataset.bx24Error"))
                + "\n"
                + "\n".join(console)
            )
        page.wait_for_function(
            "window.__benchLoaded !== undefined", timeout=READY_TIMEOUT_MS, polling=20
        )
        submitted, loaded = page.evaluate("[window.__benchSubmitted, window.__benchLoaded]")
        ready = frame.evaluate("window.__benchReady")
        page.wait_for_load_state("load")
        return {"load_ms": loaded - submitted, "ready_ms": ready - submitted, **traffic.summary()}
    finally:
        page.close()


def _profile(playwright, options, folder):
    from bx24_testing.browser import allowing_third_party_storage

    context = allowing_third_party_storage(playwright.chromium, options, str(folder))
    context.add_init_script(RECORD)
    for page in context.pages:  # the window a persistent context opens with
        page.close()
    return context


def measure(playwright, rows, loads, warmups, browser_args=(), log=print):
    """``loads`` cold and warm page views per row (after ``warmups`` unmeasured warm ones)."""
    options = launch_args()
    options["args"] = options.get("args", []) + list(browser_args)
    with tempfile.TemporaryDirectory(prefix="bx24-netbench-") as profiles:
        warm = {
            row.name: _profile(playwright, options, Path(profiles, f"warm-{i}"))
            for i, row in enumerate(rows)
        }
        try:
            for _ in range(warmups):
                for row in rows:
                    _attempt(row, warm[row.name], None, log)
            for n in range(loads):
                for i, row in enumerate(rows):
                    cold = _profile(playwright, options, Path(profiles, f"cold-{n}-{i}"))
                    try:
                        _attempt(row, cold, row.cold, log)
                    finally:
                        cold.close()
                    _attempt(row, warm[row.name], row.warm, log)
                log(
                    f"  load {n + 1}/{loads}: "
                    + ", ".join(f"{r.name} {_fmt(r.cold[-1])}/{_fmt(r.warm[-1])}" for r in rows)
                )
        finally:
            for context in warm.values():
                context.close()


def _attempt(row, context, samples, log):
    try:
        sample = load(context, row)
    except (RuntimeError, PlaywrightError) as error:  # a crashed renderer counts as failed
        row.failures.append(str(error))
        log(f"  {row.name}: load failed: {str(error)[:300]}")
        sample = None
    if samples is not None:
        samples.append(sample)


def _fmt(sample):
    return "failed" if sample is None else f"{sample['ready_ms']:.0f} ms"


def median(samples, key):
    values = [s[key] for s in samples if s is not None]
    return statistics.median(values) if values else None


def summary(rows):
    keys = ("load_ms", "ready_ms", "requests", "revalidations", "bytes")
    return {
        row.name: {
            "frame": row.frame,
            "network": row.network,
            "failed_loads": len(row.failures),
            "cold": {k: median(row.cold, k) for k in keys},
            "warm": {k: median(row.warm, k) for k in keys},
            "samples": {"cold": row.cold, "warm": row.warm},
        }
        for row in rows
    }
