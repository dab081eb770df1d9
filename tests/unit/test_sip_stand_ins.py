"""The SIP phone's two stand-ins say and report the same: sip-stub.js (the page's, in the kit and
the emulator) and bx24_testing.fake.FakeSipPhone (CPython's), driven through the same steps;
and both keep the real phone's interface (sip.mjs's)."""

import json
import pathlib
import re
import shutil
import subprocess

import pytest

from bx24 import StandInSoftphone
from bx24_testing.fake import FakeSipPhone
from bx24_testing.stub import SIP_STUB_PATH
from fake_bridge import run

NODE = shutil.which("node")
SIP_MJS = pathlib.Path(__file__).resolve().parents[2] / "pylib" / "bx24" / "sip.mjs"
OPTIONS = {"server": "ws://127.0.0.1:5066", "uri": "sip:101@127.0.0.1", "password": "s3cret"}
# (method, args) on the phone, or ("far", action, args) on the other side
STEPS = [
    ("far", "ring", ["+15550001122"]),
    ("answer", ["in-1"]),
    ("mute", ["in-1", True]),
    ("mute", ["in-1", False]),
    ("hold", ["in-1", True]),
    ("hold", ["in-1", False]),
    ("dtmf", ["in-1", "5"]),
    ("transfer", ["in-1", "sip:300@127.0.0.1"]),
    ("call", ["sip:+15550009999@127.0.0.1"]),
    ("far", "pickUp", []),
    ("far", "hangUp", []),
    ("far", "ring", ["+15550003333"]),
    ("reject", ["in-3", 486]),
    ("far", "ring", ["+15550004444"]),
    ("hangup", ["in-4"]),
    ("far", "ring", ["+15550005555"]),
    ("far", "fail", ["480", "Unavailable"]),
    ("stop", []),
]

HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const said = [], events = [];
const pending = [];
const ctx = { console: { log: (text) => said.push(text) }, JSON, String, Error,
              setTimeout: (fn) => pending.push(fn) };
ctx.window = ctx;
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.env.STUB, "utf8"), ctx);
const flush = () => { while (pending.length) pending.shift()(); };
const phone = ctx.bx24SipStandIn.createPhone(null, process.env.OPTIONS, (t) => events.push(JSON.parse(t)));
flush();
for (const step of JSON.parse(process.env.STEPS)) {
  if (step[0] === "far") ctx.bx24StandInSoftphone[step[1]](...step[2]);
  else phone[step[0]](...step[1]);
  flush();
}
process.stdout.write(JSON.stringify({ said, events, methods: Object.keys(phone) }));
"""

FAR = {"ring": "ring", "pickUp": "pick_up", "hangUp": "hang_up", "fail": "fail"}
SAID = [
    "answer the call from +15550001122",
    "microphone muted",
    "microphone on",
    "call held",
    "call resumed",
    "DTMF 5",
    "transfer to 300",
    "dial +15550009999",
    "reject the call (486)",
    "hang up",
]


def python_stand_in():
    phone, events = FakeSipPhone(), []
    run(phone.create(json.dumps(OPTIONS), lambda text: events.append(json.loads(text))))
    for step in STEPS:
        if step[0] == "far":
            getattr(phone, FAR[step[1]])(*step[2])
        else:
            getattr(phone, step[0])(*step[1])
    return phone.said, events


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_both_stand_ins_say_and_report_the_same():
    done = subprocess.run(
        [NODE, "-e", HARNESS],
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "STUB": str(SIP_STUB_PATH),
            "OPTIONS": json.dumps(OPTIONS),
            "STEPS": json.dumps(STEPS),
        },
    )
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    said, events = python_stand_in()
    page_said = [
        line.split("] ", 1)[1] for line in page["said"] if line.startswith("[softphone stand-in] ")
    ]
    assert page_said == said == SAID
    assert [{k: v for k, v in e.items() if k != "line"} for e in page["events"]] == events
    assert not any("s3cret" in line for line in page["said"])
    # the real phone's interface, all of it
    block = SIP_MJS.read_text().split("const phone = {", 1)[1].split("\n  };", 1)[0]
    real = set(re.findall(r"^    (?:async )?(\w+)\(", block, re.M)) - {
        "sessionIds",
        "recent",
        "direction",
        "stats",
        "configuration",
    }  # sip.mjs's test helpers
    assert {"call", "answer", "reject", "hangup", "transfer", "stop"} <= real
    assert real <= set(page["methods"]) and real <= set(dir(FakeSipPhone))


class _Call:
    def __init__(self, number):
        self.phone_number = number


def test_the_stand_in_softphone_without_sip_says_the_same():
    """bx24.StandInSoftphone (no SIP phone under it) prints the same lines for the same steps:
    the kit reads them alike."""
    softphone, caller = StandInSoftphone(say=lambda text: None), _Call("+15550001122")
    softphone.answer(caller)
    softphone.set_muted(caller, True)
    softphone.set_muted(caller, False)
    softphone.set_held(caller, True)
    softphone.set_held(caller, False)
    softphone.send_dtmf(caller, "5")
    softphone.transfer(caller, "300")
    softphone.dial(_Call("+15550009999"))
    softphone.reject(caller, "486")
    softphone.hang_up(caller)
    assert softphone.said == SAID
