"""bridge.js in Node against a fake BX24: binding once, the boot queue, requests,
timeouts and late answers. The browser tests cover it again for real."""

import json
import pathlib
import shutil
import subprocess

import pytest

BRIDGE = pathlib.Path(__file__).resolve().parents[2] / "pylib" / "bx24" / "bridge.js"
# The page's boot config as bx24_frame writes it: the events bridge.js binds come from it.
BOOT = json.dumps({"events": list(__import__("bx24").events.EVENTS)})
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
function fakeBX24() {
  const fake = {
    inits: [], bound: [], calls: [], handlers: {}, answer: null,
    info: {placement: "PAGE_BACKGROUND_WORKER", options: {URI: "/crm/"}},
    iface: {command: ["CallCardSetMute"], event: ["BackgroundCallCard::initialized"]},
    init(fn) { fake.inits.push(fn); },
    runInit() { fake.inits.forEach((fn) => fn()); },
    fire(name, ...payload) {
      (fake.handlers["BackgroundCallCard::" + name] || []).forEach((cb) => cb(...payload));
    },
  };
  fake.placement = {
    info: () => fake.info,
    getInterface: (cb) => cb(fake.iface),
    bindEvent: (name, cb) => { fake.bound.push(name); (fake.handlers[name] ||= []).push(cb); },
    call: (command, params, cb) => { fake.calls.push([command, params]); if (fake.answer) fake.answer(command, params, cb); },
  };
  return fake;
}
function load(withBX24 = true) {
  const logs = [];
  const ctx = {
    console: { error: (m) => logs.push(["error", m]), warn: (m) => logs.push(["warn", m]) },
    setTimeout, clearTimeout, JSON, Promise,
    document: { documentElement: { dataset: {} },
                getElementById: (id) => id === "bx24-boot" ? { textContent: process.env.BOOT } : null },
  };
  ctx.window = ctx;
  if (withBX24) ctx.BX24 = fakeBX24();
  vm.createContext(ctx);
  vm.runInContext(fs.readFileSync(process.env.BRIDGE, "utf8"), ctx);
  return { bridge: ctx.bx24Bridge, BX24: ctx.BX24, logs, dataset: ctx.document.documentElement.dataset };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const result = await (async () => { SCENARIO })();
  process.stdout.write(JSON.stringify(result), () => process.exit(0));  // bridge.js keeps a 15 s hint timer
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
"""


def scenario(body):
    script = HARNESS.replace("SCENARIO", body)
    done = subprocess.run(
        [NODE, "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=30,
        env={"BRIDGE": str(BRIDGE), "BOOT": BOOT, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_binds_every_event_once_at_init_and_not_before():
    result = scenario("""
        const { BX24 } = load();
        const before = BX24.bound.length;
        BX24.runInit();
        BX24.runInit();  // a second init callback must not bind again
        return { before, bound: BX24.bound };
    """)
    assert result["before"] == 0
    assert len(result["bound"]) == 17 == len(set(result["bound"]))
    assert all(name.startswith("BackgroundCallCard::") for name in result["bound"])


def test_queue_before_attach_is_delivered_in_order_once_then_live_events():
    result = scenario("""
        const { bridge, BX24, dataset } = load();
        BX24.runInit();
        BX24.fire("entityChanged", {PHONE_NUMBER: "unknown"});
        BX24.fire("initialized", {CALL_ID: "1"});
        BX24.fire("hangupButtonClick");
        const seen = [];
        const readyBefore = dataset.bx24;
        bridge.attach((m) => seen.push(JSON.parse(m)));
        const readyAfter = dataset.bx24;
        BX24.fire("dialpadButtonClick", "5");
        return { seen, readyBefore: readyBefore || null, readyAfter, queued: bridge.queued() };
    """)
    assert result["seen"] == [
        {"type": "event", "name": "entityChanged", "payload": {"PHONE_NUMBER": "unknown"}},
        {"type": "event", "name": "initialized", "payload": {"CALL_ID": "1"}},
        {"type": "event", "name": "hangupButtonClick"},  # undefined payload: no key at all
        {"type": "event", "name": "dialpadButtonClick", "payload": "5"},
    ]
    assert (result["readyBefore"], result["readyAfter"], result["queued"]) == (None, "ready", 0)


def test_a_failing_handler_does_not_stop_the_queue_and_cyclic_payloads_arrive_marked():
    result = scenario("""
        const { bridge, BX24, logs } = load();
        BX24.runInit();
        const cyclic = {}; cyclic.self = cyclic;
        BX24.fire("initialized", cyclic);
        BX24.fire("skipButtonClick");
        const seen = [];
        bridge.attach((m) => { seen.push(JSON.parse(m)); if (seen.length === 1) throw new Error("x"); });
        return { seen, logs };
    """)
    assert [m["name"] for m in result["seen"]] == ["initialized", "skipButtonClick"]
    assert "unserializable" in result["seen"][0]["payload"]
    assert result["logs"][0][0] == "error"


def test_attach_twice_throws():
    result = scenario("""
        const { bridge } = load();
        bridge.attach(() => {});
        try { bridge.attach(() => {}); return "no error"; } catch (e) { return String(e); }
    """)
    assert "already attached" in result


def test_call_waits_for_init_then_resolves_with_the_answer():
    result = scenario("""
        const { bridge, BX24 } = load();
        BX24.answer = (command, params, cb) => cb([]);
        const pending = bridge.call("CallCardSetMute", '{"muted": true}', 1000);
        const sentBeforeInit = BX24.calls.length;
        BX24.runInit();
        return { envelope: JSON.parse(await pending), sentBeforeInit, calls: BX24.calls };
    """)
    assert result["envelope"] == {"status": "answer", "data": []}
    assert result["sentBeforeInit"] == 0
    assert result["calls"] == [["CallCardSetMute", {"muted": True}]]


def test_no_answer_resolves_after_the_wait_and_a_late_answer_is_delivered():
    result = scenario("""
        const { bridge, BX24 } = load();
        BX24.runInit();
        let callback;
        BX24.answer = (command, params, cb) => { callback = cb; };
        const seen = [];
        bridge.attach((m) => seen.push(JSON.parse(m)));
        const started = Date.now();
        const envelope = JSON.parse(await bridge.call("CallCardStartTimer", "{}", 50));
        const waited = Date.now() - started;
        callback([{result: "error", errorCode: "Call card is undefined"}]);
        return { envelope, waited, seen };
    """)
    assert result["envelope"] == {"status": "no_answer"}
    assert 40 <= result["waited"] < 1000
    assert result["seen"] == [
        {
            "type": "late",
            "command": "CallCardStartTimer",
            "data": [{"result": "error", "errorCode": "Call card is undefined"}],
        }
    ]


def test_a_call_that_timed_out_before_init_is_never_sent():
    result = scenario("""
        const { bridge, BX24 } = load();
        const envelope = JSON.parse(await bridge.call("CallCardClose", "{}", 20));
        BX24.runInit();
        return { envelope, calls: BX24.calls };
    """)
    assert result == {"envelope": {"status": "no_answer"}, "calls": []}


def test_info_and_get_interface():
    result = scenario("""
        const { bridge, BX24 } = load();
        BX24.runInit();
        return { info: JSON.parse(await bridge.info(100)), iface: JSON.parse(await bridge.getInterface(100)) };
    """)
    assert result["info"] == {
        "status": "answer",
        "data": {"placement": "PAGE_BACKGROUND_WORKER", "options": {"URI": "/crm/"}},
    }
    assert result["iface"]["data"]["command"] == ["CallCardSetMute"]


def test_wrong_placement_is_reported_on_the_console_at_init():
    result = scenario("""
        const { BX24, logs } = load();
        BX24.info = {placement: "DEFAULT", options: {}};
        BX24.runInit();
        return logs;
    """)
    assert any(
        level == "error" and "DEFAULT" in text and "PAGE_BACKGROUND_WORKER" in text
        for level, text in result
    )


def test_without_bx24_requests_resolve_unavailable():
    result = scenario("""
        const { bridge, logs } = load(false);
        return { call: JSON.parse(await bridge.call("CallCardClose", "{}", 1000)),
                 info: JSON.parse(await bridge.info(1000)), logs };
    """)
    assert result["call"]["status"] == result["info"]["status"] == "unavailable"
    assert "BX24" in result["call"]["message"]
    assert result["logs"] and result["logs"][0][0] == "error"
