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
    done = subprocess.run([sys.executable, "-c", "import bx24, sys; print('pyscript' in sys.modules)"],
                          capture_output=True, text=True)
    assert done.stdout.strip() == "False"


def test_card_is_one_per_page_and_forwards_to_the_js_bridge(fake_browser):
    card = bx24.card(timeout=2, timer_grace=0.1)
    assert bx24.card() is card and (card.timeout, card.timer_grace) == (2, 0.1)
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
        bx24.card()
