# Placeholder sample: raw interop, replaced by the bx24-library sample app.
from pyscript import window
from pyscript.ffi import to_js, create_proxy
import json

BX24 = window.BX24

def on_initialized(payload):
    info = json.loads(window.JSON.stringify(payload))
    BX24.placement.call("CallCardSetCardTitle", to_js({"title": "Incoming call " + info.get("PHONE_NUMBER", "")}), create_proxy(lambda r: None))

BX24.placement.bindEvent("BackgroundCallCard::initialized", create_proxy(on_initialized))
window.document.documentElement.dataset.bx24 = "ready"
