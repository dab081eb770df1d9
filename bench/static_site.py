"""Serve a plain folder with bx24's server (``python bench/static_site.py DIR [server options]``):
its ``index.html`` as the page (Bitrix24's POST included), every other file revalidated.
The plain-JS baseline frame is served this way, by the same server as ours."""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "pylib"))

from bx24_server.cli import add_arguments, config_from, serve  # noqa: E402
from bx24_server.mounts import REVALIDATE, Folder  # noqa: E402


class StaticSite:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.mounts = [Folder("", self.folder, REVALIDATE)]

    def page(self, query):
        return (self.folder / "index.html").read_bytes()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder")
    add_arguments(p)
    args = p.parse_args()
    config = config_from(args, error_log=Path("placement-errors.jsonl"), cache_dir=None)
    return serve(
        config,
        StaticSite(args.folder),
        p,
        workers=args.workers,
        announce=lambda url: print(f"Serving {args.folder} on {url}", flush=True),
    )


if __name__ == "__main__":
    sys.exit(main())
