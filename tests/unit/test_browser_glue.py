"""bx24.browser over a fake ``pyscript`` module: forwarding, the proxy, one card per page."""

import sys
import types

import pytest

import bx24


class FakeJsBridge:
    def __init__(self):
        self.calls = []
        self.attached = None

    def call(self, *args):
        self.calls.append(("call",) + args)
        return "promise"

    def info(self, wait_ms):
        self.calls.append(("info", wait_ms))
        return "promise"

    def getInterface(self, wait_ms):
        self.calls.append(("getInterface", wait_ms))
        return "promise"

    def attach(self, handler):
        self.attached = handler


@pytest.fixture
def fake_browser(monkeypatch):
    window = types.SimpleNamespace(bx24Bridge=FakeJsBridge())
    proxies = []

    def create_proxy(fn):
        proxies.append(fn)
        return ("proxy", fn)

    pyscript = types.ModuleType("pyscript")
    pyscript.window = window
    ffi = types.ModuleType("pyscript.ffi")
    ffi.create_proxy = create_proxy
    monkeypatch.setitem(sys.modules, "pyscript", pyscript)
    monkeypatch.setitem(sys.modules, "pyscript.ffi", ffi)
    monkeypatch.delitem(sys.modules, "bx24.browser", raising=False)
    import bx24.browser

    yield types.SimpleNamespace(module=bx24.browser, window=window, proxies=proxies)
    sys.modules.pop("bx24.browser", None)


def test_importing_bx24_does_not_import_pyscript():
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", "import bx24, sys; print('pyscript' in sys.modules)"],
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "False"


def test_card_is_one_per_page_and_forwards_to_the_js_bridge(fake_browser):
    card = bx24.page.card(timeout=2, timer_grace=0.1)
    assert bx24.page.card() is card and (card.timeout, card.timer_grace) == (2, 0.1)
    js = fake_browser.window.bx24Bridge
    bridge = card._bridge
    assert bridge.call("CallCardClose", "{}", 2000) == "promise"
    assert bridge.info(5) == "promise" and bridge.get_interface(6) == "promise"
    assert js.calls == [("call", "CallCardClose", "{}", 2000), ("info", 5), ("getInterface", 6)]
    card.attach()
    assert js.attached == ("proxy", card._receive) and fake_browser.proxies == [card._receive]


def test_missing_bridge_js_is_a_clear_error(fake_browser):
    del fake_browser.window.bx24Bridge
    with pytest.raises(bx24.PlacementError, match="bridge.js"):
        bx24.page.card()


def test_the_modules_and_the_page_functions_do_not_hide_each_other():
    """bx24.telephony is the module (its constants), bx24.page.telephony() the page's
    Telephony; the 0.1 names still call the page's functions, with a warning."""
    import importlib

    import bx24.calls
    import bx24.rest
    import bx24.telephony

    assert bx24.telephony.INCOMING == 2 and bx24.telephony.Status.MISSED == "304"
    assert bx24.calls.Calls is bx24.Calls and bx24.rest.Rest is bx24.Rest
    assert importlib.import_module("bx24.telephony").INCOMING == 2
    from bx24.telephony import OUTGOING

    assert OUTGOING == 1
    called = []
    original = bx24.page.telephony
    bx24.page.telephony = lambda **options: called.append(options) or "the page's"
    try:
        with pytest.warns(DeprecationWarning, match=r"bx24.page.telephony\(\)"):
            assert bx24.telephony(timeout=3) == "the page's"
    finally:
        bx24.page.telephony = original
    assert called == [{"timeout": 3}]
    with pytest.raises(AttributeError):
        bx24.card.INCOMING  # noqa: B018  (card has no module of its own)
