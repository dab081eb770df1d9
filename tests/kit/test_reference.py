"""docs/testing.md is what the kit says of itself (python -m bx24_testing.reference): a
docstring, a fixture, a button or an example that changes changes it, or this fails."""

from pathlib import Path

from bx24_testing.reference import render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_docs_testing_md_is_the_kits_own_reference():
    assert DOCS.read_text() == render(), (
        "docs/testing.md is stale: python -m bx24_testing.reference > docs/testing.md"
    )


def test_every_fixture_and_button_is_in_it():
    from bx24_testing import plugin
    from bx24_testing.cardmodel import BUTTON_EVENTS

    text = render()
    for name in vars(plugin):
        if name.startswith("bx24_") and callable(getattr(plugin, name)):
            assert f"`{name}`" in text, name
    for button in BUTTON_EVENTS:
        assert f"| `{button}` |" in text, button
    assert "(undocumented)" not in text
