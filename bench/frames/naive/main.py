# The sample app with raw interop, as a first PyScript page would do it.
import json

import pyodide_http
from pyscript import window
from pyscript.ffi import create_proxy, to_js

pyodide_http.patch_all()
BX24 = window.BX24


def call(command, params):
    BX24.placement.call(command, to_js(params), create_proxy(lambda result: None))


def on(name, handler):
    BX24.placement.bindEvent("BackgroundCallCard::" + name, create_proxy(handler))


def initialized(payload):
    info = json.loads(window.JSON.stringify(payload))
    number = info.get("PHONE_NUMBER", "from an unknown number")
    call("CallCardSetCardTitle", {"title": "Call " + number})
    call("CallCardSetStatusText", {"statusText": info.get("LINE_NAME", "")})


on("initialized", initialized)
on("muteButtonClick", lambda muted: call("CallCardSetMute", {"muted": bool(muted)}))
on("holdButtonClick", lambda held: call("CallCardSetHold", {"held": bool(held)}))
on("hangupButtonClick", lambda *_: call("CallCardClose", {}))
window.document.documentElement.dataset.bx24 = "ready"
