"""What a memory snapshot must not freeze: per-page randomness, and code edited since set-up.

The snapshot holds an interpreter's whole memory, so anything seeded or imported while it was
made is the same on every page restored from it. The loader reseeds `random` after each restore,
and the image keeps no module of the frame's own files (only the stdlib they use), so an app
module edited while the server runs is what the next page runs, from the same image.
"""

from pathlib import Path


from bx24_testing.frame import open_frame


RANDOM_MAIN = """\
import random
from pyscript import document
document.documentElement.dataset.value = repr(random.random())
document.documentElement.dataset.bx24 = "ready"
"""

FRESH_MAIN = """\
import helper
from pyscript import document
document.documentElement.dataset.value = helper.VALUE
document.documentElement.dataset.bx24 = "ready"
"""


def snapshot_restored(frame):
    return not any("without a snapshot" in line for line in frame.console)


def test_each_page_gets_its_own_random_sequence(browser, make_frame):
    server = make_frame(RANDOM_MAIN)
    values = []
    for _ in range(2):
        page = browser.new_page()
        frame = open_frame(page, server.url)
        assert snapshot_restored(frame), frame.console_text()
        values.append(frame.evaluate("document.documentElement.dataset.value"))
        page.close()
    assert values[0] != values[1]


def test_an_app_module_edited_while_serving_runs_as_edited_from_the_snapshot(browser, make_frame):
    server = make_frame(FRESH_MAIN, modules={"helper.py": "VALUE = 'first'\n"})
    project = Path(server.command[server.command.index("--project") + 1])
    values = []
    for value in ("first", "edited"):
        (project / "frame" / "helper.py").write_text(f"VALUE = {value!r}\n")
        page = browser.new_page()
        frame = open_frame(page, server.url)
        assert snapshot_restored(frame), frame.console_text()
        values.append(frame.evaluate("document.documentElement.dataset.value"))
        page.close()
    assert values == ["first", "edited"]
