#!/usr/bin/env python3
"""Benchmarks of the frame and its server; prints a Markdown table (docs/performance.md).

    python bench/run.py [--quick] [--loads N] [--warmups N] [--events N] [--seconds S]
                        [--connections N...] [--no-levers] [--network-loads N]
                        [--networks none office remote] [--tabs N...] [--tabs-idle S]
                        [--tabs-designs 1 2 all] [--skip-network] [--skip-frames]
                        [--skip-tabs] [--skip-server] [--json FILE]

Every figure is a median over the run's samples, with a ratio against a baseline measured in
the same run: the plain-JS frame for the frame rows, nginx for the server rows, the portal's
tabs without the frame for the tab rows. The network rows (network_bench.py) load the frame as
a portal does, over emulated links; the tab rows (tabs_bench.py) open an operator's N tabs.
"""

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import frames_bench  # noqa: E402
import load_bench  # noqa: E402
import network_bench  # noqa: E402
import servers  # noqa: E402
import tabs_bench  # noqa: E402

ROOT = servers.ROOT


def fmt_ms(value):
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def fmt_mib(value):
    return "–" if value is None else f"{value / 2**20:.0f} MiB"


def ratio(value, base):
    if value is None or not base:
        return ""
    if value / base >= 1000:  # a baseline below what was measured (JS's 0.0 ms event latency)
        return " (JS ≈ 0)"
    return f" (×{value / base:.1f})" if value / base < 100 else f" (×{value / base:.0f})"


def frame_table(result, loads, warmups, events):
    base = result["js"]
    lines = [
        f"Frame: medians of {loads} loads per row ({warmups} warm-up loads before the warm ones), "
        f"{events} events per warm load; (×n) = n times the plain-JS row.",
        "",
        "| frame | boot cold | boot warm | event → command | JS heap | renderer RSS |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in result.items():
        failed = f" ({r['failed_loads']} loads failed)" if r["failed_loads"] else ""
        lines.append(
            f"| `{name}`{failed} "
            f"| {fmt_ms(r['cold_ms'])}{ratio(r['cold_ms'], base['cold_ms'])} "
            f"| {fmt_ms(r['warm_ms'])}{ratio(r['warm_ms'], base['warm_ms'])} "
            f"| {fmt_ms(r['latency_ms'])}{ratio(r['latency_ms'], base['latency_ms'])} "
            f"| {fmt_mib(r['js_heap_bytes'])}{ratio(r['js_heap_bytes'], base['js_heap_bytes'])} "
            f"| {fmt_mib(r['rss_bytes'])}{ratio(r['rss_bytes'], base['rss_bytes'])} |"
        )
    return "\n".join(lines)


def server_table(result, seconds):
    lines = [
        f"Server: wrk, 2 threads, {seconds} s per cell, `Accept-Encoding: gzip`; "
        "req/s (×n = n times nginx's), p50 / p99 latency.",
        "",
        "| server | request | conns | req/s | p50 | p99 | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for (server, request, conns), r in result.items():
        base = result.get(("nginx", request, conns))
        if r is None:
            lines.append(f"| {server} | {request} | {conns} | unsupported | | | |")
            continue
        rel = ratio(r["rps"], base["rps"]) if base and server != "nginx" else ""
        lines.append(
            f"| {server} | {request} | {conns} | {r['rps']:.0f}{rel} "
            f"| {fmt_ms(r['p50_ms'])} | {fmt_ms(r['p99_ms'])} | {r['errors']} |"
        )
    return "\n".join(lines)


def bench_frames(args, tmp):
    from playwright.sync_api import sync_playwright

    no_snapshot = servers.project_without_snapshot(tmp)
    with (
        servers.bx24_serve(tmp) as ours,
        servers.static_serve(Path(tmp, "js"), ROOT / "bench" / "frames" / "js") as js,
        servers.bx24_serve(Path(tmp, "ns"), no_snapshot) as plain,
        servers.http_server(tmp) as static,
        servers.bx24_stub_host(tmp) as stub,
    ):
        rows = [
            frames_bench.Row("js", js),
            frames_bench.Row("pyscript-naive", static + "naive/", post=False),
            frames_bench.Row("pyodide", ours),
            frames_bench.Row("micropython", ours + "?interpreter=micropython"),
        ]
        if not args.no_levers:  # each lever taken away, to show what it pays
            rows += [
                frames_bench.Row("pyodide, no snapshot", plain),
                frames_bench.Row("pyodide, no gzip", ours, headers={"Accept-Encoding": "identity"}),
                frames_bench.Row("pyodide via http.server", static, post=False),
                frames_bench.Row(
                    "micropython via http.server", static + "?interpreter=micropython", post=False
                ),
            ]
        with sync_playwright() as p:
            frames_bench.measure(
                p,
                rows,
                args.loads,
                args.warmups,
                args.events,
                browser_args=servers.stub_browser_args(stub),
                log=lambda m: print(m, file=sys.stderr),
            )
    return frames_bench.summary(rows)


def network_table(result, loads):
    lines = [
        f"Network: the frame cross-site in a portal-like page (third-party storage allowed), "
        f"over HTTPS from `bx24 serve`, the link emulated on the frame's own process; medians "
        f"of {loads} page views, cold (new profile) / warm (the next page view). `load`: the "
        "iframe's load event after the form POST (Bitrix24's 5-second rule); ready: Python up "
        "and the app attached.",
        "",
        "| frame | network | iframe load cold / warm | ready cold / warm "
        "| network requests cold / warm | revalidations warm | bytes cold / warm |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result.values():
        cold, warm = r["cold"], r["warm"]
        failed = f" ({r['failed_loads']} failed)" if r["failed_loads"] else ""
        lines.append(
            f"| `{r['frame']}`{failed} | {r['network']} "
            f"| {fmt_ms(cold['load_ms'])} / {fmt_ms(warm['load_ms'])} "
            f"| {fmt_ms(cold['ready_ms'])} / {fmt_ms(warm['ready_ms'])} "
            f"| {fmt_n(cold['requests'])} / {fmt_n(warm['requests'])} "
            f"| {fmt_n(warm['revalidations'])} "
            f"| {fmt_bytes(cold['bytes'])} / {fmt_bytes(warm['bytes'])} |"
        )
    return "\n".join(lines)


def fmt_n(value):
    return "–" if value is None else f"{value:.0f}"


def fmt_bytes(value):
    if value is None:
        return "–"
    return f"{value / 1e6:.2f} MB" if value >= 1e5 else f"{value / 1e3:.1f} kB"


def bench_network(args, tmp):
    from playwright.sync_api import sync_playwright

    tls = servers.Certificate(tmp)
    portal = servers.embeddable_by_portal()
    with (
        servers.bx24_serve(Path(tmp, "net"), extra=portal, tls=tls) as ours,
        servers.static_serve(
            Path(tmp, "net-js"), ROOT / "bench" / "frames" / "js", extra=portal, tls=tls
        ) as js,
        servers.bx24_stub_host(tmp) as stub,
    ):
        urls = {"js": js, "pyodide": ours, "micropython": ours + "?interpreter=micropython"}
        rows = [
            network_bench.Row(frame, url, network)
            for network in args.networks
            for frame, url in urls.items()
        ]
        with sync_playwright() as p:
            network_bench.measure(
                p,
                rows,
                args.network_loads,
                warmups=2,
                browser_args=servers.stub_browser_args(stub),
                log=lambda m: print(m, file=sys.stderr),
            )
    return network_bench.summary(rows)


def bench_tabs(args, tmp):
    from playwright.sync_api import sync_playwright

    designs = [d if d == "all" else int(d) for d in args.tabs_designs]
    with contextlib.ExitStack() as running:
        origins = {
            frames: running.enter_context(
                servers.bx24_serve(
                    Path(tmp, f"tabs-{frames}"),
                    project=tabs_bench.project(tmp, frames),
                    extra=[*servers.embeddable_by_portal(), "--emulator"],
                )
            )
            for frames in designs
        }
        with sync_playwright() as p:
            return tabs_bench.measure(
                p,
                tabs_bench.frame_urls(origins),
                args.tabs,
                args.tabs_idle,
                log=lambda m: print(m, file=sys.stderr),
            )


def bench_server(args, tmp):
    if not load_bench.wrk_available():
        print(
            "wrk is not installed (apt-get install wrk; ./dev.sh bench does): server rows skipped",
            file=sys.stderr,
        )
        return {}
    result = {}
    wasm = servers.WASM_PATH.lstrip("/")
    with (
        servers.bx24_serve(tmp) as ours,
        servers.bx24_serve(Path(tmp, "w2"), extra=["--workers", "2"]) as ours2,
        servers.http_server(tmp) as static,
        servers.nginx(tmp) as nginx,
    ):
        for server, url in (
            ("nginx", nginx),
            ("bx24 serve", ours),
            ("bx24 serve --workers 2", ours2),
            ("http.server", static),
        ):
            for request, method, path in (("POST /", "POST", ""), ("GET wasm", "GET", wasm)):
                for conns in args.connections:
                    if server == "http.server" and method == "POST":
                        result[(server, request, conns)] = None  # 501: it has no POST
                        continue
                    print(f"  {server} {request} c={conns}", file=sys.stderr)
                    result[(server, request, conns)] = load_bench.run(
                        url + path, method, conns, args.seconds
                    )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few loads, short server runs")
    parser.add_argument("--loads", type=int, help="measured loads per row (default 10, quick 3)")
    parser.add_argument("--warmups", type=int, help="warm-up loads per row (default 3, quick 2)")
    parser.add_argument("--events", type=int, default=20, help="events per warm load")
    parser.add_argument("--seconds", type=int, help="wrk duration per cell (default 10, quick 3)")
    parser.add_argument("--connections", type=int, nargs="+", default=[50, 200])
    parser.add_argument(
        "--no-levers", action="store_true", help="skip the rows that take one speed-up away"
    )
    parser.add_argument(
        "--network-loads",
        type=int,
        default=9,
        help="page views per network row, cold and warm (default 9)",
    )
    parser.add_argument(
        "--networks",
        nargs="+",
        default=list(network_bench.NETWORKS),
        choices=list(network_bench.NETWORKS),
    )
    parser.add_argument(
        "--tabs", type=int, nargs="+", help="tab counts of the tab rows (default 1 5 10; quick 1 5)"
    )
    parser.add_argument(
        "--tabs-idle", type=int, help="idle seconds before measuring memory (default 10, quick 3)"
    )
    parser.add_argument(
        "--tabs-designs",
        nargs="+",
        default=["1", "2", "all"],
        choices=["1", "2", "all"],
        help="python_frames of the tab rows: 1 (leader only), 2 (and a stand-in), all",
    )
    parser.add_argument("--skip-tabs", action="store_true")
    parser.add_argument("--skip-network", action="store_true")
    parser.add_argument("--skip-frames", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    args.loads = args.loads or (3 if args.quick else 10)
    args.warmups = args.warmups or 2 if args.quick else args.warmups or 3
    args.seconds = args.seconds or (3 if args.quick else 10)
    args.tabs = args.tabs or ([1, 5] if args.quick else [1, 5, 10])
    args.tabs_idle = args.tabs_idle or (3 if args.quick else 10)

    started = time.monotonic()
    out = {}
    with tempfile.TemporaryDirectory(prefix="bx24-bench-") as tmp:
        if not args.skip_network:
            print(f"network: {args.network_loads} page views per row...", file=sys.stderr)
            out["network"] = bench_network(args, tmp)
        if not args.skip_frames:
            print(f"frames: {args.loads} loads per row...", file=sys.stderr)
            out["frames"] = bench_frames(args, tmp)
        if not args.skip_tabs:
            print(f"tabs: {args.tabs}...", file=sys.stderr)
            out["tabs"] = bench_tabs(args, tmp)
        if not args.skip_server:
            print("server...", file=sys.stderr)
            out["server"] = bench_server(args, tmp)
    print(
        f"## Benchmarks ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"`python bench/run.py{' --quick' if args.quick else ''}`, "
        f"{time.monotonic() - started:.0f} s)\n"
    )
    if "network" in out:
        print(network_table(out["network"], args.network_loads) + "\n")
    if "frames" in out:
        print(frame_table(out["frames"], args.loads, args.warmups, args.events) + "\n")
    if "tabs" in out:
        print(tabs_bench.table(out["tabs"], args.tabs, args.tabs_idle) + "\n")
    if out.get("server"):
        print(server_table(out["server"], args.seconds) + "\n")
    if args.json:
        raw = dict(out)
        if "server" in raw:
            raw["server"] = [
                {"server": s, "request": r, "connections": c, **(v or {})}
                for (s, r, c), v in raw["server"].items()
            ]
        if "tabs" in raw:
            raw["tabs"] = [{"design": d, "tabs": n, **v} for (d, n), v in raw["tabs"].items()]
        Path(args.json).write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
