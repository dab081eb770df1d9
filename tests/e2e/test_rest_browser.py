"""bx24.rest in the browser, on both interpreters, against the stub's REST server (which answers
at the HTTP level, the way Bitrix24's does)."""

import json

import pytest

from bx24_testing.frame import frame_url, open_frame
from bx24_testing.plugin import INTERPRETERS

MAIN = """\
import json
import bx24
from pyscript import document

rest = bx24.page.rest(timeout=5, backoff=0.05)
out = {}


async def failure(method, params=None):
    try:
        await rest.call(method, params)
    except bx24.RestTimeoutError as error:
        return ["timeout", str(error)]
    except bx24.RestError as error:
        return [type(error).__name__, error.code, error.status]
    return "no error"

registered = await rest.call("telephony.externalcall.register",
                             {"PHONE_NUMBER": "+7999", "TYPE": 2, "USER_ID": 1, "SHOW": False, "X": None})
out["data"] = registered.data
ids = []
async for lead in rest.list("crm.lead.list", {"select": ["ID"]}):
    ids.append(lead["ID"])
out["ids"] = [len(ids), ids[0], ids[-1], len(set(ids))]
first = await rest.call("crm.lead.list", {"select": ["ID"]})
second = await first.next()
third = await second.next()
out["pages"] = [[p.total, p.next_start, p.items()[0]["ID"]] for p in (first, second, third)]
out["last"] = await third.next()
out["start"] = (await rest.call("crm.lead.list", {"start": 50})).items()[0]["ID"]
out["denied"] = await failure("user.current")
out["503"] = await failure("crm.deal.list")
out["html"] = await failure("crm.contact.list")
out["network"] = await failure("crm.company.list")
out["limited"] = (await rest.call("crm.status.list")).data
both = await rest.batch([("crm.lead.get", {"ID": 1}), ("crm.lead.get", {"ID": 999})])
out["batch"] = [both[0].data, both[1].code]
document.documentElement.dataset.rest = json.dumps(out)
document.documentElement.dataset.bx24 = "ready"
"""

LEADS = [{"ID": str(n)} for n in range(1, 121)]  # three pages of 50
STUB_CONFIG = {
    "restResponses": {
        "crm.lead.list": {"items": LEADS},
        "user.current": {
            "error": "ACCESS_DENIED",
            "error_description": "no user scope",
            "status": 403,
        },
        "crm.deal.list": {"status": 503, "error": "INTERNAL_SERVER_ERROR"},
        "crm.contact.list": {"status": 502, "body": "<html>Bad gateway</html>"},
        "crm.company.list": {"network": True},
        "crm.status.list": [{"status": 503, "error": "QUERY_LIMIT_EXCEEDED"}, {"result": ["ok"]}],
        "crm.lead.get": [
            {"result": {"ID": "1"}},
            {"error": "NOT_FOUND", "error_description": "no lead"},
        ],
    }
}


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_rest_paging_batch_and_failures(page, make_frame, interpreter):
    server = make_frame(MAIN)
    frame = open_frame(page, frame_url(server.url, interpreter), stub_config=STUB_CONFIG)
    out = json.loads(frame.evaluate("document.documentElement.dataset.rest"))
    assert out["data"]["CALL_ID"].startswith("externalCall.")
    assert out["ids"] == [120, "1", "120", 120]  # every lead once, across three pages
    assert out["pages"] == [[120, 50, "1"], [120, 100, "51"], [120, None, "101"]]
    assert out["last"] is None
    assert out["start"] == "51"  # our transport keeps `start` (the real library drops it)
    assert out["denied"] == ["RestError", "ACCESS_DENIED", 403]
    # 5xx, non-JSON and network failures: a RestError with the status at once, not a timeout
    assert out["503"] == ["RestError", "INTERNAL_SERVER_ERROR", 503]
    assert out["html"] == ["RestError", None, 502]
    assert out["network"] == ["RestError", "NETWORK_ERROR", None]
    assert out["limited"] == ["ok"]  # QUERY_LIMIT_EXCEEDED retried
    assert out["batch"] == [{"ID": "1"}, "NOT_FOUND"]

    calls = frame.evaluate("BX24Stub.restCalls()")
    register = calls[0]
    assert register["method"] == "telephony.externalcall.register"
    # form-encoded as Bitrix24's library sends it: every value a string, false as "false",
    # None dropped
    assert register["params"] == {
        "PHONE_NUMBER": "+7999",
        "TYPE": "2",
        "USER_ID": "1",
        "SHOW": "false",
    }
    assert [c["params"].get("start") for c in calls if c["method"] == "crm.lead.list"][:3] == [
        None,
        "50",
        "100",
    ]
    assert [c["status"] for c in calls if c["method"] == "crm.status.list"] == [503, 200]
    assert [c["batch"] for c in calls if c["method"] == "crm.lead.get"] == [True, True]
    assert frame.outside_requests == []


BATCH_MAIN = """\
import json
import bx24
from pyscript import document

rest = bx24.page.rest(timeout=5)


def shape(results):
    return [[r.code, r.description] if isinstance(r, bx24.RestError) else r.data
            for r in results]

CALLS = [("app.info", {}), ("user.current", {}), ("crm.lead.get", {"ID": 7}),
         ("user.option.get", {"option": "x"}), ("placement.get", {})]
out = {}
out["all"] = shape(await rest.batch(CALLS[:2] + CALLS[3:]))
out["halted"] = shape(await rest.batch(CALLS, halt=True))
out["kept_going"] = shape(await rest.batch(CALLS, halt=False))
keyed = await rest.batch({"me": ("user.current", {}), "lead": ("crm.lead.get", {"ID": 7})})
out["keyed"] = {key: shape([value])[0] for key, value in keyed.items()}
document.documentElement.dataset.rest = json.dumps(out)
document.documentElement.dataset.bx24 = "ready"
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_batch_reads_phps_lists_and_keeps_the_callers_order(page, make_frame, interpreter):
    """Bitrix24 answers a batch keyed 0..n-1 with JSON lists (PHP arrays), and runs its
    commands in the body's order: every result comes back to its call, a halt leaves exactly
    the later calls not run, and the wire carries the caller's order on both interpreters."""
    server = make_frame(BATCH_MAIN)
    frame = open_frame(
        page,
        frame_url(server.url, interpreter),
        stub_config={
            "restResponses": {
                "crm.lead.get": {"error": "NOT_FOUND", "error_description": "no lead"}
            }
        },
    )
    out = json.loads(frame.evaluate("document.documentElement.dataset.rest"))
    me = frame.portal.user(1)
    profile = {k: v for k, v in me.items() if k != "ADMIN"}
    assert out["all"] == [out["all"][0], profile, "", []]
    assert out["all"][0]["INSTALLED"] is False
    not_run = [None, "not run: the batch halted before it"]
    assert out["halted"] == [out["all"][0], profile, ["NOT_FOUND", "no lead"], not_run, not_run]
    assert out["kept_going"] == [out["all"][0], profile, ["NOT_FOUND", "no lead"], "", []]
    assert out["keyed"] == {"me": profile, "lead": ["NOT_FOUND", "no lead"]}
    # the order the portal ran them in, batch by batch: the caller's
    sent = [c["method"] for c in frame.portal.rest_calls() if c["batch"]]
    names = [
        m
        for m, _ in [
            ("app.info", 0),
            ("user.current", 0),
            ("crm.lead.get", 0),
            ("user.option.get", 0),
            ("placement.get", 0),
        ]
    ]
    assert sent[:4] == [names[0], names[1], names[3], names[4]]
    assert sent[4:7] == names[:3]  # halted after the third
    assert sent[7:12] == names
