"""An operator's tabs: what N tabs of a portal, each with the worker frame, cost the browser.

Operators keep many tabs and sliders open, and Bitrix24 loads the worker in each. Each cell
of this bench is one browser profile (warmed first: the frame's files are in its HTTP cache,
as in an operator's), N tabs of the kit's portal stand-in opened at once, each with the worker
frame cross-site (the sample app, its phone the SIP stand-in); then:

- ready: from the first tab's navigation until every frame says ``data-bx24="ready"``;
- Python frames: how many of them run an interpreter (``data-bx24-python="ready"``);
- PSS: the sum over the browser's renderer processes of ``Pss`` in ``/proc/<pid>/smaps_rollup``
  (shared pages split between the processes sharing them), after ``idle`` seconds;
- idle CPU: the renderers' CPU time over those seconds, in % of one core;
- handover: the leader's tab navigates away → the next leader's phone registered (the SIP
  stand-in's phone object appears in its frame).

The baseline, in the same run: the same N portal tabs with nothing bound (no frame). The
designs: ``python_frames`` 1 (the leader alone runs Python), 2 (and a warm stand-in, the
default) and "all" (every frame, as before relays).
"""

import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bx24_testing.browser import launch_args
from bx24_testing.frame import frame_url, open_frame
from bx24_testing.portal import portal as stand_in

READY_TIMEOUT_S = 90

# In every frame: when it said ready, when the app's phone (the SIP stand-in's) appeared.
RECORD = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  new MutationObserver(() => {
    if (document.documentElement?.dataset.bx24 === "ready" && window.__benchReady === undefined)
      window.__benchReady = now();
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-bx24"]});
  let phone;
  Object.defineProperty(window, "bx24StandInSoftphone", {
    configurable: true,
    get() { return phone; },
    set(value) {
      phone = value;
      if (value && window.__benchPhone === undefined) window.__benchPhone = now();
    },
  });
})();
"""


def project(tmp, python_frames):
    """The sample app (what ``bx24 new`` writes) with ``python_frames``."""
    from bx24_frame.scaffold import TEMPLATE

    folder = Path(tmp, f"python-frames-{python_frames}")
    shutil.copytree(TEMPLATE / "frame", folder / "frame")
    value = '"all"' if python_frames == "all" else python_frames
    (folder / "bx24.toml").write_text(
        f"python_frames = {value}\n" + (TEMPLATE / "bx24.toml").read_text()
    )
    return folder


def _renderers(browser_or_context):
    cdp = browser_or_context.browser.new_browser_cdp_session()
    try:
        info = cdp.send("SystemInfo.getProcessInfo")["processInfo"]
    finally:
        cdp.detach()
    return {p["id"]: p["cpuTime"] for p in info if p["type"] == "renderer"}


def _pss(pids):
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        if match:
            total += int(match.group(1)) * 1024
    return total


def _frames(pages):
    return [p.frames[1] if len(p.frames) > 1 else None for p in pages]


def _evaluate(frame, expression):
    try:
        return frame.evaluate(expression)
    except Exception:
        return None


def cell(playwright, profile_dir, url, n, idle_s, log):
    """One cell: N tabs in the (warmed) profile at ``profile_dir``; ``url`` the frame's, or
    None for portal tabs with nothing bound."""
    context = playwright.chromium.launch_persistent_context(profile_dir, **launch_args())
    try:
        context.add_init_script(RECORD)
        pages = [context.new_page() for _ in range(n)]
        started = time.time() * 1000
        if url is None:
            server = stand_in()
            portal = server.new_portal(frame_url="http://127.0.0.1/")
            for page in pages:
                page.goto(server.page_url(portal), wait_until="commit")
            for page in pages:
                page.wait_for_load_state("load")
            ready_ms = time.time() * 1000 - started
            frames = []
        else:
            # the operator's first frame ever made their group's secret (a user option of the
            # portal): tabs opened later find it
            first = context.new_page()
            open_frame(first, url)
            first.goto("about:blank")  # pagehide, as a closing tab has (page.close has none)
            first.close()
            started = time.time() * 1000
            loaded = [open_frame(page, url, wait=False) for page in pages]
            deadline = time.monotonic() + READY_TIMEOUT_S
            frames = [f.target for f in loaded]
            while True:
                states = [_evaluate(f, "document.documentElement.dataset.bx24") for f in frames]
                if all(s == "ready" for s in states):
                    break
                if "error" in states or time.monotonic() > deadline:
                    raise RuntimeError(f"frames not ready: {states}")
                pages[0].wait_for_timeout(20)
            ready_ms = max(_evaluate(f, "window.__benchReady") for f in frames) - started
        before = _renderers(context)
        pages[0].wait_for_timeout(idle_s * 1000)
        after = _renderers(context)
        cpu = sum(after[p] - before.get(p, after[p]) for p in after) / idle_s * 100
        out = {
            "ready_ms": ready_ms,
            "pss": _pss(after),
            "cpu_pct": cpu,
            "python": sum(
                _evaluate(f, "document.documentElement.dataset.bx24Python") == "ready"
                for f in frames
            ),
            "handover_ms": None,
        }
        if frames and n > 1:
            out["handover_ms"] = _handover(pages, frames)
        log(
            f"  {n} tab(s): ready {out['ready_ms']:.0f} ms, {out['pss'] / 2**20:.0f} MiB, "
            f"CPU {out['cpu_pct']:.1f} %, Python in {out['python']}, handover "
            f"{out['handover_ms'] and round(out['handover_ms'])} ms"
        )
        return out
    finally:
        context.close()


def _handover(pages, frames):
    leaders = [i for i, f in enumerate(frames) if _evaluate(f, "bx24Frames.leader")]
    if len(leaders) != 1:
        raise RuntimeError(f"{len(leaders)} leaders")
    [i] = leaders
    rest = [f for j, f in enumerate(frames) if j != i]
    for f in rest:  # the phone the next leader makes is the one measured
        f.evaluate("window.__benchPhone = undefined")
    started = time.time() * 1000
    pages[i].goto("about:blank")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        at = [_evaluate(f, "window.__benchPhone") for f in rest]
        at = [a for a in at if a]
        if at:
            return min(at) - started
        pages[(i + 1) % len(pages)].wait_for_timeout(20)
    raise RuntimeError("no next leader's phone within 30 s")


def warm(playwright, profile_dir, url):
    """The operator's profile, with the frame's files in its cache."""
    context = playwright.chromium.launch_persistent_context(profile_dir, **launch_args())
    try:
        for _ in range(2):
            page = context.new_page()
            open_frame(page, url)
            page.goto("about:blank")
            page.close()
    finally:
        context.close()


def measure(playwright, designs, counts, idle_s, repeats=1, log=print):
    """``designs``: {name: frame URL or None}; the median over ``repeats`` per cell."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="bx24-bench-tabs-") as profiles:
        for name, url in designs.items():
            profile = str(Path(profiles, re.sub(r"\W", "_", name)))
            if url is not None:
                warm(playwright, profile, url)
            for n in counts:
                log(f"{name}:")
                samples = [cell(playwright, profile, url, n, idle_s, log) for _ in range(repeats)]
                results[(name, n)] = {
                    key: (
                        statistics.median(s[key] for s in samples)
                        if all(s[key] is not None for s in samples)
                        else None
                    )
                    for key in samples[0]
                }
    return results


def table(results, counts, idle_s):
    base = {n: results.get(("no frame", n)) for n in counts}
    lines = [
        f"N tabs of a portal page in one profile, each with the worker (cross-site), opened at "
        f"once; PSS summed over renderers after {idle_s} s idle; ready = every frame ready; "
        "handover = the leader's tab navigates → the next leader's phone registered.\n",
        "| design | tabs | Python frames | PSS | × no frame | idle CPU | all ready | handover |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (name, n), r in results.items():
        b = base.get(n)
        handover = "–" if r["handover_ms"] is None else f"{r['handover_ms'] / 1000:.2f} s"
        ratio = f"×{r['pss'] / b['pss']:.1f}" if b and name != "no frame" else ""
        lines.append(
            f"| {name} | {n} | {r['python'] if name != 'no frame' else '–'} | "
            f"{r['pss'] / 2**20:.0f} MiB | {ratio} | {r['cpu_pct']:.1f} % | "
            f"{r['ready_ms'] / 1000:.2f} s | "
            f"{handover} |"
        )
    return "\n".join(lines)


def frame_urls(origins):
    """{design name: frame URL}, from {python_frames: server origin}."""
    designs = {"no frame": None}
    for interpreter in ("pyodide", "micropython"):
        for frames, origin in origins.items():
            label = {1: "leader only", 2: "leader + stand-in", "all": "every frame"}[frames]
            designs[f"{interpreter}, {label}"] = frame_url(origin, interpreter)
    return designs
