"""The README's CPython example runs as written (docs that drift are worse than none)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_fake_portal_example_passes():
    text = README.read_text()
    section = text.split("### Unit tests without a browser", 1)[1]
    [example] = re.findall(r"```python\n(.*?)```", section, re.S)[:1]
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    tests = [fn for name, fn in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test()
