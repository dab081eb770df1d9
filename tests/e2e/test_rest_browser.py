"""bx24.rest in the browser, on both interpreters, against the stub's programmed REST answers."""

import json

import pytest

from bx24_testing.frame import frame_url, open_frame
from bx24_testing.plugin import INTERPRETERS

MAIN = """\
import json
import bx24
from pyscript import document

rest = bx24.rest(timeout=5)
out = {}
registered = await rest.call("telephony.externalcall.register", {"PHONE_NUMBER": "+7999", "TYPE": 2})
out["data"] = registered.data
leads = await rest.call("crm.lead.list", {"select": ["ID"]})
out["page"] = [leads.data, leads.total, leads.more, leads.next]
try:
    await rest.call("user.current")
except bx24.RestError as error:
    out["error"] = [error.method, error.code, error.description]
document.documentElement.dataset.rest = json.dumps(out)
document.documentElement.dataset.bx24 = "ready"
"""

STUB_CONFIG = {"restResponses": {
    "telephony.externalcall.register": {"result": {"CALL_ID": "externalCall.42"}},
    "crm.lead.list": {"result": [{"ID": "1"}], "total": 120, "next": 50},
    "user.current": {"error": "ACCESS_DENIED", "error_description": "no user scope"},
}}


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_rest_calls_answers_paging_and_errors(page, make_frame, interpreter):
    server = make_frame(MAIN)
    frame = open_frame(page, frame_url(server.url, interpreter), stub_config=STUB_CONFIG)
    out = json.loads(frame.evaluate("document.documentElement.dataset.rest"))
    assert out == {
        "data": {"CALL_ID": "externalCall.42"},
        "page": [[{"ID": "1"}], 120, True, 50],
        "error": ["user.current", "ACCESS_DENIED", "no user scope"],
    }
    calls = frame.evaluate("BX24Stub.restCalls()")
    assert [c["method"] for c in calls] == [
        "telephony.externalcall.register", "crm.lead.list", "user.current"]
    assert calls[0]["params"] == {"PHONE_NUMBER": "+7999", "TYPE": 2}
    assert frame.outside_requests == []
