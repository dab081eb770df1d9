"""frames.js and bridge.js in Node: several frames of one operator (each its own JS context,
its own BX24), one BroadcastChannel between them, on a virtual clock. One leader, the oldest; a
new one when it leaves or stops answering; the card's events reach the leader's Python from
any frame and its commands run in the frame whose card has the call; notes for the next leader.
The browser tests (tests/e2e/test_sip_browser.py) cover the same in Chromium, with real SIP."""

import json
import pathlib
import shutil
import subprocess

import pytest

BX24_DIR = pathlib.Path(__file__).resolve().parents[2] / "pylib" / "bx24"
NODE = shutil.which("node")
BOOT = json.dumps({"events": list(__import__("bx24").events.EVENTS)})  # the page's boot config

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const FRAMES = fs.readFileSync(process.env.BX24_DIR + "/frames.js", "utf8");
const BRIDGE = fs.readFileSync(process.env.BX24_DIR + "/bridge.js", "utf8");

// a virtual clock: timers run in order when run(ms) moves time; microtasks flush between
const clock = { now: 0, timers: [], seq: 0 };
function setT(fn, ms) { const t = { at: clock.now + (ms || 0), fn, id: ++clock.seq }; clock.timers.push(t); return t.id; }
function clearT(id) { clock.timers = clock.timers.filter((t) => t.id !== id); }
function setI(fn, ms) { const loop = () => { fn(); state.id = setT(loop, ms); }; const state = { id: setT(loop, ms) }; return state; }
async function run(ms) {
  const end = clock.now + ms;
  for (;;) {
    await new Promise((r) => setImmediate(r));
    clock.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    const next = clock.timers[0];
    if (!next || next.at > end) break;
    clock.timers.shift();
    clock.now = next.at;
    next.fn();
  }
  clock.now = end;
  await new Promise((r) => setImmediate(r));
}

// one channel name, every frame's instance; a closed one (a crashed tab) hears nothing
const hub = [];
class Channel {
  constructor(name) { this.name = name; this.open = true; hub.push(this); }
  postMessage(m) {
    const text = JSON.stringify(m);
    hub.filter((c) => c !== this && c.open && c.name === this.name).forEach((c) =>
      setT(() => {
        if (!c.open || !c.onmessage) return;
        if (c.frame && c.frame.busy) c.frame.held.push(() => c.onmessage({ data: JSON.parse(text) }));
        else c.onmessage({ data: JSON.parse(text) });
      }, 1));
  }
  close() { this.open = false; }
}

// one storage partition (the portal's site) for every frame; a frame may have none (blocked)
const partition = {};
const localStorage = {
  getItem: (k) => (k in partition ? partition[k] : null),
  setItem: (k, v) => { partition[k] = String(v); },
};

// the portals' user options: {"<member>/<user>": {name: value}}, as the portal keeps them
const userOptions = {};
function fakeBX24(name, member, user) {
  const fake = { calls: [], handlers: {}, inits: [] };
  const mine = (userOptions[member + "/" + user] ||= {});
  const loaded = { ...mine };  // the init data: the options as they were when the frame loaded
  fake.init = (fn) => fn();
  fake.getAuth = () => ({ access_token: "t-" + name, member_id: member, domain: "x" });
  fake.getDomain = () => "x";
  fake.userOption = { get: (key) => loaded[key], set: (key, value) => { mine[key] = String(value); } };
  fake.options = mine;
  fake.placement = {
    info: () => ({ placement: "PAGE_BACKGROUND_WORKER", options: {} }),
    getInterface: (cb) => cb({}),
    bindEvent: (event, cb) => { (fake.handlers[event] ||= []).push(cb); },
    call: (command, params, cb) => { fake.calls.push(command); setT(() => cb({ from: name }), 1); },
  };
  fake.fire = (event, payload) =>
    (fake.handlers["BackgroundCallCard::" + event] || []).forEach((cb) => cb(payload));
  return fake;
}

// auto: a frame as the page makes it, whose Python boots (bootMs) only once frames.js says it
// runs Python; otherwise Python is attached at once, whatever the frame's role
function frame(name, member = "portal-a", user = "1",
               { auto = false, bootMs = 300, shared = true } = {}) {
  const listeners = {};
  const storage = {};
  const ctx = {
    console: { error() {}, warn() {}, log() {} },
    setTimeout: setT, clearTimeout: clearT, setInterval: setI, JSON, Promise, Math, Date,
    // Web Crypto, answering at once (the real one answers on another thread, off the clock)
    crypto: { getRandomValues: (a) => globalThis.crypto.getRandomValues(a),
              subtle: { digest: (alg, data) => Promise.resolve(Uint8Array.from(
                require("crypto").createHash("sha256").update(data).digest()).buffer) } },
    TextEncoder,
    performance: { timeOrigin: 0, now: () => clock.now },
    sessionStorage: { getItem: (k) => (k in storage ? storage[k] : null),
                      setItem: (k, v) => { storage[k] = String(v); },
                      removeItem: (k) => { delete storage[k]; } },
    addEventListener: (type, fn) => { (listeners[type] ||= []).push(fn); },
    name: "x.portal|1|app",  // window.name: the portal's host first
    busy: false, held: [],   // a main thread busy (booting Pyodide): messages wait
    document: { documentElement: { dataset: {} },
                getElementById: (id) => id === "bx24-boot" ? { textContent: process.env.BOOT } : null },
  };
  ctx.window = ctx;
  if (shared) ctx.localStorage = localStorage;
  ctx.BroadcastChannel = class extends Channel {  // this frame's channels (a crash closes them)
    constructor(channelName) { super(channelName); this.frame = ctx; }
  };
  ctx.BX24 = fakeBX24(name, member, user);
  // the portal's REST, for what bridge.js asks of it here: the user option kept now
  ctx.fetch = (url, init) => Promise.resolve({ status: 200, text: () => Promise.resolve(
    JSON.stringify({ result: ctx.BX24.options[decodeURIComponent(
      String(init.body).split("option=")[1] || "")] || "" })) });
  vm.createContext(ctx);
  vm.runInContext(FRAMES, ctx);
  vm.runInContext(BRIDGE, ctx);
  const received = [];
  const attach = () => ctx.bx24Bridge.attach((json) => received.push(JSON.parse(json)));
  let booted = 0;
  if (auto) ctx.bx24Frames.onPython((runs) => { if (runs && !booted++) setT(attach, bootMs); });
  else attach();
  const roles = [];
  ctx.bx24Bridge.onLeader((leading) => roles.push(leading));
  return {
    name, ctx, received, roles, BX24: ctx.BX24,
    leads: () => ctx.bx24Frames.leader,
    python: () => ctx.bx24Frames.python,
    state: () => [ctx.document.documentElement.dataset.bx24 || null,
                  ctx.document.documentElement.dataset.bx24Python || null],
    hide: () => (listeners.pagehide || []).forEach((fn) => fn({})),
    crash: () => hub.filter((c) => c.frame === ctx).forEach((c) => c.close()),  // froze or crashed
    busy: () => { ctx.busy = true; },
    free: () => { ctx.busy = false; ctx.held.splice(0).forEach((fn) => fn()); },
  };
}
(async () => {
  const result = await (async () => { SCENARIO })();
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
"""


def scenario(body, python_frames=None):
    script = HARNESS.replace("SCENARIO", body)
    boot = json.loads(BOOT)
    if python_frames is not None:
        boot["frames"] = {"python": python_frames}
    done = subprocess.run(
        [NODE, "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={"BX24_DIR": str(BX24_DIR), "BOOT": json.dumps(boot)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_oldest_frame_leads_and_the_others_know_it():
    out = scenario("""
      const a = frame("a"); await run(10);
      const b = frame("b"); await run(10);
      const c = frame("c"); await run(400);
      return { leads: [a, b, c].map((f) => f.leads()), roles: [a, b, c].map((f) => f.roles),
               ids: [a, b, c].map((f) => f.ctx.bx24Frames.leaderId === a.ctx.bx24Frames.id) };
    """)
    assert out["leads"] == [True, False, False]
    assert out["roles"] == [[True], [False], [False]]  # decided once each, never both
    assert out["ids"] == [True, True, True]


def test_a_leader_that_leaves_is_replaced_at_once():
    out = scenario("""
      const a = frame("a"); await run(10);
      const b = frame("b"); await run(10);
      const c = frame("c"); await run(400);
      a.hide(); await run(50);  // within 50 ms: bye, then the next oldest
      return { leads: [b.leads(), c.leads()] };
    """)
    assert out["leads"] == [True, False]


def test_a_leader_that_stops_answering_is_replaced_after_the_ping_timeout():
    out = scenario("""
      const a = frame("a"); await run(10);
      const b = frame("b"); await run(400);
      a.crash();
      await run(4000);
      const before = b.leads();
      await run(4000);  // a ping (every 5 s) unanswered for 2 s
      return { before, after: b.leads(), roles: b.roles };
    """)
    assert out == {"before": False, "after": True, "roles": [False, True]}


def test_card_events_reach_the_leader_and_its_commands_run_where_the_card_is():
    out = scenario("""
      const a = frame("a"); await run(10);
      const b = frame("b"); await run(400);
      // Bitrix24 opens the card in b, the follower
      b.BX24.fire("initialized", { CALL_ID: "c1" });
      b.BX24.fire("muteButtonClick", true);
      await run(20);
      const answer = a.ctx.bx24Bridge.call("CallCardSetMute", '{"muted": true}', 1000);
      await run(50);
      return { leader: a.received.map((m) => m.name), follower: b.received.length,
               ranIn: [a.BX24.calls, b.BX24.calls], answer: JSON.parse(await answer) };
    """)
    assert out["leader"] == ["initialized", "muteButtonClick"]
    assert out["follower"] == 0  # the follower's Python acts on nothing
    assert out["ranIn"] == [[], ["CallCardSetMute"]]
    assert out["answer"] == {"status": "answer", "data": {"from": "b"}}


def test_a_note_left_by_a_leaving_frame_reaches_the_next_leader_once():
    out = scenario("""
      const a = frame("a"); await run(10);
      const b = frame("b"); await run(10);
      const c = frame("c"); await run(400);
      a.ctx.bx24Bridge.leaveNote("The call with 200 was cut off");
      a.hide(); await run(50);
      const first = JSON.parse(b.ctx.bx24Bridge.takeNotes());
      await run(50);
      b.hide(); await run(50);  // c leads next: the note was shown already
      return { first, again: JSON.parse(b.ctx.bx24Bridge.takeNotes()),
               later: JSON.parse(c.ctx.bx24Bridge.takeNotes()), leads: c.leads() };
    """)
    assert out == {
        "first": ["The call with 200 was cut off"],
        "again": [],
        "later": [],
        "leads": True,
    }


def test_a_frame_alone_leads_after_listening_a_moment():
    out = scenario("""
      const a = frame("a");
      const early = a.leads();
      await run(300);
      return { early, later: a.leads(), queued: a.received.length };
    """)
    assert out == {"early": None, "later": True, "queued": 0}


def test_frames_of_two_portals_or_two_users_never_share_a_leader():
    out = scenario("""
      const a = frame("a", "portal-a", "1"); await run(10);
      const b = frame("b", "portal-b", "1"); await run(10);  // the same profile, another portal
      const c = frame("c", "portal-a", "2"); await run(10);  // another user of portal a
      const d = frame("d", "portal-a", "1"); await run(400);  // a's second tab
      b.BX24.fire("initialized", { CALL_ID: "b1" });
      await run(20);
      return { leads: [a, b, c, d].map((f) => f.leads()),
               groups: [a, b, c, d].map((f) => f.ctx.bx24Frames.group),
               received: [a, b, c, d].map((f) => f.received.map((m) => m.name)) };
    """)
    assert out["leads"] == [True, True, True, False]
    assert len(set(out["groups"])) == 3 and out["groups"][0] == out["groups"][3]
    assert out["received"] == [[], ["initialized"], [], []]  # b's card, b's own Python


def test_a_page_without_the_groups_secret_cannot_lead_listen_or_speak():
    out = scenario("""
      const a = frame("a"); await run(10);
      const b = frame("b"); await run(400);
      // another page of the app's origin in the same partition, without the operator's secret:
      // it tries the channel names it can guess, and claims to be the oldest frame
      const heard = [];
      for (const name of ["bx24-frames", "bx24-frames.0", a.ctx.bx24Frames.group + "x"]) {
        const hostile = new Channel(name);
        hostile.onmessage = (m) => heard.push(m.data.type);
        hostile.postMessage({ type: "hello", from: "evil", born: 0 });
        hostile.postMessage({ type: "bye", from: a.ctx.bx24Frames.id });
        hostile.postMessage({ type: "forward", from: "evil", to: a.ctx.bx24Frames.id,
                              message: { type: "event", name: "makeCallButtonClick" } });
      }
      await run(6000);
      b.BX24.fire("muteButtonClick", true);  // a real event still goes to the real leader
      await run(20);
      return { leads: [a.leads(), b.leads()], heard, received: a.received.map((m) => m.name) };
    """)
    assert out["leads"] == [True, False]
    assert out["heard"] == []  # nothing of the group reaches a page that cannot name it
    assert out["received"] == ["muteButtonClick"]


def test_two_leaders_that_missed_each_other_end_as_one():
    out = scenario("""
      const a = frame("a"); await run(10);
      const b = frame("b"); await run(400);
      // b misses everything for a while (a forged bye of old, a frozen tab) and leads too
      b.ctx.bx24Frames.alone(); await run(10);
      const both = [a.leads(), b.leads()];
      b.ctx.bx24Frames.join(a.ctx.bx24Frames.group); await run(6000);
      return { both, after: [a.leads(), b.leads()] };
    """)
    assert out["both"] == [True, True]
    assert out["after"] == [True, False]


def test_the_first_frames_of_an_operator_end_in_one_group():
    out = scenario("""
      // two tabs restored at once: b loaded before a's secret reached the portal; each makes
      // one, and the portal keeps the last written (b's)
      const a = frame("a");
      delete userOptions["portal-a/1"].bx24_frames;
      const b = frame("b"); await run(400);
      const first = [a.ctx.bx24Frames.group === b.ctx.bx24Frames.group];
      await run(3000);  // each checks what the portal kept, and joins that group
      return { first, same: a.ctx.bx24Frames.group === b.ctx.bx24Frames.group,
               leads: [a.leads(), b.leads()].sort() };
    """)
    assert out["first"] == [False]
    assert out["same"] is True and out["leads"] == [False, True]


# -- which frames run Python (issue 20): the oldest two; the others relay ---------------------


def test_only_the_two_oldest_frames_run_python_and_a_relay_starts_it_when_one_leaves():
    out = scenario("""
      const fs = [];  // made one after another, a few ms apart, as a browser restores tabs
      for (const n of ["a", "b", "c", "d"]) { fs.push(frame(n, "portal-a", "1", { auto: true }));
                                             await run(5); }
      await run(1000);
      const before = { python: fs.map((f) => f.python()), state: fs.map((f) => f.state()),
                       leads: fs.map((f) => f.leads()) };
      fs[0].hide(); await run(50);
      const during = { python: fs.map((f) => f.python()), leads: fs.map((f) => f.leads()) };
      await run(400);
      return { before, during, after: fs.map((f) => f.state()) };
    """)
    assert out["before"]["python"] == [True, True, False, False]
    assert out["before"]["leads"] == [True, False, False, False]
    # a relay is ready at once: its events reach the leader's Python
    assert out["before"]["state"] == [
        ["ready", "ready"],
        ["ready", "ready"],
        ["ready", "none"],
        ["ready", "none"],
    ]
    # the leader left: the stand-in leads at once, the oldest relay becomes the new stand-in
    assert out["during"]["python"][1:] == [True, True, False]
    assert out["during"]["leads"][1:] == [True, False, False]
    assert out["after"][1:] == [["ready", "ready"], ["ready", "ready"], ["ready", "none"]]


def test_a_first_frame_starts_python_at_once_and_a_later_one_waits_for_its_group():
    out = scenario("""
      const a = frame("a", "portal-a", "1", { auto: true });
      await run(30);
      const first = [a.python(), a.leads()];  // the hint's answer: nobody older; the group: later
      const b = frame("b", "portal-a", "1", { auto: true }); await run(2);
      const c = frame("c", "portal-a", "1", { auto: true });
      await run(28);
      const hinted = [b.python(), c.python()];
      await run(400);
      return { first, hinted, later: [a.python(), b.python(), c.python()] };
    """)
    assert out["first"] == [True, None]
    # b: one older frame (fewer than two): the stand-in, it boots once a's Python is up; c:
    # two older, a relay at once (its group confirms it)
    assert out["hinted"] == [None, False]
    assert out["later"] == [True, True, False]


def test_events_of_a_relay_before_and_during_a_leader_change_reach_python_in_order_once():
    out = scenario(
        """
      const a = frame("a", "portal-a", "1", { auto: true }); await run(10);
      const b = frame("b", "portal-a", "1", { auto: true });
      b.BX24.fire("initialized", { CALL_ID: "c1" });  // before b knows its role
      await run(600);
      b.BX24.fire("muteButtonClick", true);
      await run(20);
      a.hide();  // b leads, and boots Python (300 ms); its card's events meanwhile are kept
      b.BX24.fire("holdButtonClick", true);
      await run(1);
      b.BX24.fire("holdButtonClick", false);
      const booting = b.state();
      await run(100);
      const early = b.received.length;
      await run(400);
      return { a: a.received.map((m) => [m.name, m.payload]),
               b: b.received.map((m) => [m.name, m.payload]), booting, early, state: b.state() };
    """,
        python_frames=1,
    )
    assert out["a"] == [["initialized", {"CALL_ID": "c1"}], ["muteButtonClick", True]]
    assert out["booting"] == ["ready", "none"]  # bridge.js: boot.js marks it "booting" then
    assert out["early"] == 0  # held until its Python attaches, then all of them, in order
    assert out["b"] == [["holdButtonClick", True], ["holdButtonClick", False]]
    assert out["state"] == ["ready", "ready"]


def test_every_frame_runs_python_when_the_app_says_all():
    out = scenario(
        """
      const fs = [];
      for (const n of ["a", "b", "c"]) { fs.push(frame(n, "portal-a", "1", { auto: true }));
                                        await run(1); }
      const early = fs.map((f) => f.python());
      await run(1000);
      return { early, leads: fs.map((f) => f.leads()), state: fs.map((f) => f.state()) };
    """,
        python_frames=0,
    )
    assert out["early"] == [True, True, True]
    assert out["leads"] == [True, False, False]
    assert out["state"] == [["ready", "ready"]] * 3


def test_another_users_frames_do_not_hold_a_frame_back():
    out = scenario("""
      // two frames of another user of the same portal host: the hint channel tells of them,
      // the group (this user's) does not know them
      frame("x", "portal-a", "2", { auto: true }); frame("y", "portal-a", "2", { auto: true });
      await run(500);
      const c = frame("c", "portal-a", "1", { auto: true });
      await run(600);
      const waiting = [c.python(), c.leads()];
      await run(1000);
      return { waiting, later: [c.python(), c.leads()], state: c.state() };
    """)
    # the registry says x and y are of another group: c leads its own and runs Python at once
    assert out["waiting"] == [True, True]
    assert out["later"] == [True, True]
    assert out["state"] == ["ready", "ready"]


def test_frames_busy_booting_are_known_from_the_registry_and_waited_for():
    out = scenario("""
      const a = frame("a", "portal-a", "1", { auto: true }); a.busy(); await run(5);
      const b = frame("b", "portal-a", "1", { auto: true }); b.busy(); await run(5);
      // a boots Pyodide, b waits: no answer from them for 2 s; c knows of them from the registry
      const c = frame("c", "portal-a", "1", { auto: true });
      await run(2000);
      const waiting = [a.python(), b.python(), c.python(), c.state()];
      c.BX24.fire("initialized", { CALL_ID: "c1" });  // kept: c's leader is not known yet
      a.free(); b.free();
      await run(500);
      return { waiting, later: [a.python(), b.python(), c.python()],
               leads: [a, b, c].map((f) => f.leads()), got: a.received.map((m) => m.name) };
    """)
    # b, the stand-in, waits for a's Python; c is a relay at once (ready: its events are kept
    # until it knows its leader)
    assert out["waiting"] == [True, None, False, ["ready", "none"]]
    assert out["later"] == [True, True, False]
    assert out["leads"] == [True, False, False]


def test_a_false_hint_only_makes_a_frame_wait():
    out = scenario("""
      // a page of the partition that is no frame claims, on the hint channel, to be an older one
      const liar = new Channel("bx24-frames-hint|x.portal");
      liar.onmessage = () => {};
      await run(5);
      const c = frame("c", "portal-a", "1", { auto: true, shared: false });
      liar.postMessage({ type: "here", from: "evil", born: 0 });
      liar.postMessage({ type: "here", from: "evil2", born: 1 });
      await run(600);
      const waiting = [c.python(), c.leads()];
      await run(10000);
      return { waiting, later: [c.python(), c.leads()], state: c.state() };
    """)
    assert out["waiting"] == [None, True]  # it leads its group, and waits (5 s at most)
    assert out["later"] == [True, True]
    assert out["state"] == ["ready", "ready"]


def test_without_storage_the_hint_channel_is_asked():
    out = scenario("""
      const a = frame("a", "portal-a", "1", { auto: true, shared: false }); await run(5);
      const b = frame("b", "portal-a", "1", { auto: true, shared: false }); await run(5);
      const c = frame("c", "portal-a", "1", { auto: true, shared: false });
      await run(30);
      const early = c.python();
      await run(400);
      return { early, later: [a.python(), b.python(), c.python()] };
    """)
    assert out == {"early": None, "later": [True, True, False]}


def test_frames_of_a_crashed_browser_are_not_waited_for_long():
    out = scenario("""
      // a browser that crashed a moment ago left two entries (no pagehide); its tabs restore
      await run(10);
      partition["bx24-frames|x.portal"] = JSON.stringify({
        dead1: { born: 1, seen: clock.now }, dead2: { born: 2, seen: clock.now } });
      const a = frame("a", "portal-a", "1", { auto: true });
      await run(1000);
      const first = [a.python(), a.state()];
      await run(4000);
      return { first, later: [a.python(), a.state()] };
    """)
    assert out["first"] == [False, ["ready", "none"]]  # a relay for now: its events are kept
    assert out["later"] == [True, ["ready", "ready"]]  # the entries went stale: it runs Python


def test_the_stand_in_boots_once_the_leaders_python_is_up():
    out = scenario("""
      const a = frame("a", "portal-a", "1", { auto: true, bootMs: 800 }); await run(5);
      const b = frame("b", "portal-a", "1", { auto: true });
      await run(400);
      const booting = [a.state(), b.python(), b.state()];  // one interpreter boots at a time
      await run(800);
      return { booting, later: [b.python(), b.state()] };
    """)
    assert out["booting"] == [[None, None], False, ["ready", "none"]]
    assert out["later"] == [True, ["ready", "ready"]]
