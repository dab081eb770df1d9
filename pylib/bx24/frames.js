/* bx24 frames: one leader among an operator's worker frames, of one portal.
 *
 * Bitrix24 loads the worker in every portal page, every slider and every tab: one operator
 * often has several frames alive at once, and which of them receives the card's events is not
 * documented (the one that received `initialized` for a call is the one whose card exists).
 * A softphone in each would register the operator several times and ring in all of them. So
 * the frames of one operator on one portal agree on a leader, by BroadcastChannel (it works in a
 * cross-site frame whether or not the browser gives it storage; Web Locks do not: a browser
 * that blocks site data denies them).
 *
 * Who is in the group: frames of one browser profile share a channel only within one storage
 * partition (the portal's site), and the portals of one site (a.bitrix24.com, b.bitrix24.com)
 * share one partition, as can several users of one portal in one profile. So a frame does not
 * join before bridge.js knows its group: at BX24.init, from what only the portal hands the
 * operator's real frames (bridge.js, frameGroup: the portal's member id and a random secret
 * kept in the operator's user option of the application), it names the channel
 * (`join(name)`: a hash of both). A page without that secret (another page of the app's host, a
 * frame of another portal or user) cannot name the channel: it cannot hear the group, lead it,
 * or speak in it. A frame that cannot learn its group leads alone (`alone()`).
 *
 * In the group:
 * - every frame says `hello` when it joins (with when it started) and `bye` when its page
 *   goes away (navigation, slider or tab closed); the others answer `alive`;
 * - the leader is the oldest frame alive; a new frame decides after SETTLE_MS of listening;
 * - a follower pings the leader every PING_MS (a message: background tabs answer at once,
 *   whatever their timers do); no `pong` within PONG_MS (a crashed or frozen frame) and it
 *   tells the others the leader is `gone`. A frame told it is gone starts again as the
 *   youngest; a leader says `lead` every PING_MS, so a leader that hears an older one steps
 *   down: two frames never both stay leader.
 *
 * Then (bridge.js): card events that reach a follower are forwarded to the leader, the
 * leader's card commands go to the frame whose card has the call, and only the leader's
 * Python acts: its call session, its softphone. A leader that goes away leaves a `note` for
 * the next one (also in sessionStorage, for the next page of the same tab).
 *
 * Which frames run Python (boot.js waits for `onPython`): only the PYTHON_FRAMES oldest of the
 * group (the boot config's `frames.python`: the leader and a warm stand-in by default; 0:
 * every frame). The others are relays: the bridge and this election, no interpreter. A relay
 * whose rank falls below PYTHON_FRAMES (a Python frame left) starts Python then. Waiting for the
 * group would make every first frame boot later, so a frame first looks, at once, which frames
 * of its portal host (`window.name`) are there: in a registry in the partition's localStorage
 * (each frame's entry written when it starts, refreshed every second, removed on pagehide: a
 * frame busy booting Pyodide cannot answer, its entry still speaks), or, where storage is
 * blocked, by asking on a hint channel (answers within HINT_MS). Fewer than PYTHON_FRAMES older
 * ones: it starts Python at once; else it waits for its group's rank. Neither is trusted (any
 * page of the partition can write or speak there): a false hint only makes a frame wait. A
 * frame told of older frames its group has not heard from (busy booting; their entries name
 * no other group) waits until they answer or go, GRACE_MS at most, before it starts Python. A
 * stand-in (older frames, fewer than PYTHON_FRAMES) is a relay until every older one's Python
 * is up (`python-ready`, STANDIN_WAIT_MS at most), then boots: one interpreter at a time.
 *
 * window.bx24Frames:
 *   id, leader (true | false | null: not decided yet), leaderId, group (the channel's name)
 *   join(name), alone(why)      the group this frame is in (bridge.js, at BX24.init); or none
 *   onLeader(fn)                fn(isLeader) when this frame's role is decided or changes
 *   forward(message)            to the leader: onForwarded's fn(message, fromId) runs there
 *   request(to, body, waitMs)   to frame `to`: its onRequest fn(body) → Promise of a reply;
 *                               resolves with the reply, or null after waitMs
 *   onGone(fn)                  fn(id) when a frame said bye or was found gone
 *   note(text), takeNotes()     leave a note for the next leader; read (and drop) them: every
 *                               frame drops its copies once one took them
 *   python                      true (runs Python) | false (a relay) | null (not decided yet)
 *   onPython(fn)                fn(runs) when decided, and fn(true) when a relay must start it
 */
(function () {
  "use strict";

  // Long enough for the others' answer (~1 ms when their main thread is free), short for the
  // ready signal (it waits for the role: MicroPython is ready ~0.2 s after the page starts). A
  // leader too busy to answer in time (a Pyodide boot) makes the newcomer lead for a moment:
  // it steps down, its phone stopped, as soon as the answer comes.
  var SETTLE_MS = 100;
  var PING_MS = 5000;
  var PONG_MS = 2000;
  var MAX_UNTAKEN = 200;
  var MAX_HEARD = 100;  // frames told of by the hint or the registry: an operator has fewer
  var NOTES_KEY = "bx24-frames-notes";
  var MAX_NOTES = 5;
  // The hint: long enough for idle frames' answer (~1 ms), short for a first frame's boot.
  var HINT_MS = 25;
  var GRACE_MS = 5000;
  var STANDIN_WAIT_MS = 5000;
  var GRACE_CHECK_MS = 250;
  // A live frame refreshes its registry entry every REFRESH_MS (timers run between the chunks
  // of a Pyodide boot); one not refreshed for STALE_MS is a page gone without a pagehide (a
  // crash, a browser restart): not waited for.
  var REFRESH_MS = 1000;
  var STALE_MS = 4000;
  var PYTHON_FRAMES = (function () {
    try {
      var frames = JSON.parse(document.getElementById("bx24-boot").textContent).frames;
      var n = frames && frames.python;
      return typeof n === "number" && n >= 0 ? n : 2;
    } catch (error) {
      return 2;
    }
  })();

  function now() { return performance.timeOrigin + performance.now(); }
  function newId() { return Math.random().toString(36).slice(2, 10) + Date.now().toString(36); }

  var me = { id: newId(), born: now(), ready: false };
  var peers = {};        // id -> {id, born}
  var decided = false;
  var handlers = { leader: [], forwarded: null, request: null, gone: [], python: [] };
  var pending = {};      // request id -> {resolve, timer}
  var notes = [];
  var pinging = null;    // {leaderId, timer} while a ping waits for its pong
  var channel = null;    // the group's, once joined
  var settling = null;
  var beating = null;
  var sent = [];         // {seq, message} forwarded to the leader, not yet taken
  var seq = 0;
  var leaving = false;   // this page said bye
  var hint = null;       // the hint channel (see above)
  var heard = {};        // id -> born, of the frames the hint channel told of
  var hinted = false;    // the hint's wait is over
  var grace = null;
  var graceSince = 0;
  var standInSince = 0;
  var standInTimer = null;
  var registryKey = null;

  var api = {
    id: me.id,
    leader: null,
    leaderId: null,
    group: null,
    join: join,
    alone: alone,
    onLeader: function (fn) {
      handlers.leader.push(fn);
      if (api.leader !== null) fn(api.leader);
    },
    onForwarded: function (fn) { handlers.forwarded = fn; },
    onRequest: function (fn) { handlers.request = fn; },
    onGone: function (fn) { handlers.gone.push(fn); },
    python: null,
    pythonReady: function () {  // bridge.js: this frame's Python attached
      me.ready = true;
      post({ type: "python-ready" });
    },
    onPython: function (fn) {
      handlers.python.push(fn);
      if (api.python !== null) fn(api.python);
    },
    forward: function (message) {
      // kept until the leader says it took it: one that leaves (or is found gone) before that
      // has it sent again to the next leader, in order (a leader that said bye takes nothing)
      sent.push({ seq: ++seq, message: message });
      if (sent.length > MAX_UNTAKEN) {
        console.warn("[bx24 frames] the leader took none of " + sent.length + " messages: " +
          "the oldest is dropped");
        sent.shift();
      }
      post({ type: "forward", to: api.leaderId, seq: seq, message: message });
    },
    request: function (to, body, waitMs) {
      var id = newId();
      return new Promise(function (resolve) {
        pending[id] = {
          resolve: resolve,
          timer: setTimeout(function () { delete pending[id]; resolve(null); }, waitMs),
        };
        post({ type: "request", to: to, id: id, body: body });
      });
    },
    note: function (text) {
      post({ type: "note", text: String(text) });
      try {
        var kept = JSON.parse(sessionStorage.getItem(NOTES_KEY) || "[]");
        kept.push(String(text));
        sessionStorage.setItem(NOTES_KEY, JSON.stringify(kept.slice(-MAX_NOTES)));
      } catch (error) { /* no storage for this frame: the channel carried it */ }
    },
    takeNotes: function () {
      var taken = notes;
      notes = [];
      try {
        taken = JSON.parse(sessionStorage.getItem(NOTES_KEY) || "[]").concat(taken);
        sessionStorage.removeItem(NOTES_KEY);
      } catch (error) { /* no storage */ }
      if (taken.length) post({ type: "notes-taken" });  // the others drop their copies
      return taken.filter(function (text, i) { return taken.indexOf(text) === i; });
    },
    peers: function () { return Object.keys(peers); },
  };

  function post(message) {
    if (!channel) return;
    message.from = me.id;
    try { channel.postMessage(message); } catch (error) { /* closing */ }
  }

  function older(a, b) { return a.born < b.born || (a.born === b.born && a.id < b.id); }

  function join(name) {
    if (channel && api.group === name) return;
    leave();
    try {
      channel = new BroadcastChannel(name);
    } catch (error) {
      alone("no BroadcastChannel here");
      return;
    }
    api.group = name;
    channel.onmessage = receive;
    if (registryKey) {  // the registry says which group (of another user: not waited for)
      registry(function (all) { all[me.id] = { born: me.born, seen: now(), group: name }; });
    }
    decided = false;
    post({ type: "hello", born: me.born, ready: me.ready });
    settling = setTimeout(function () { decided = true; elect(); }, SETTLE_MS);
    if (!beating) beating = setInterval(beat, PING_MS);
  }

  function leave() {
    if (!channel) return;
    post({ type: "bye" });
    try { channel.close(); } catch (error) { /* closed already */ }
    channel = null;
    api.group = null;
    clearTimeout(settling);
    peers = {};
    pinging = null;
  }

  function alone(why) {
    leave();
    if (why) console.warn("[bx24 frames] this frame leads alone: " + why);
    heard = {};  // alone, it runs Python whoever else is there
    decided = true;
    elect();
  }

  function elect() {
    if (!decided) return;
    var best = me;
    Object.keys(peers).forEach(function (id) { if (older(peers[id], best)) best = peers[id]; });
    var was = api.leader;
    var wasId = api.leaderId;
    api.leaderId = best.id;
    api.leader = best.id === me.id;
    if (wasId !== api.leaderId && sent.length) resend();  // older than what the handlers send
    if (was !== api.leader) {
      handlers.leader.forEach(function (fn) {
        try { fn(api.leader); } catch (error) { console.error("[bx24 frames]", error); }
      });
    }
    rank();
  }

  function resend() {  // to the new leader, what the one before did not take
    var again = sent;
    sent = [];
    again.forEach(function (item) {
      if (api.leader) {
        if (handlers.forwarded) handlers.forwarded(item.message, null);  // this frame's card
      } else {
        api.forward(item.message);
      }
    });
  }

  // -- who runs Python ------------------------------------------------------------------------

  function setPython(runs) {
    if (api.python === true || api.python === runs) return;  // a frame that started keeps it
    api.python = runs;
    clearTimeout(grace);
    handlers.python.forEach(function (fn) {
      try { fn(runs); } catch (error) { console.error("[bx24 frames]", error); }
    });
  }

  function olderThanMe(borns) {
    return borns.filter(function (p) { return older(p, me); }).length;
  }

  function rank() {  // after the group's election: the PYTHON_FRAMES oldest run Python
    if (api.python === true || !decided) return;
    var list = Object.keys(peers).map(function (id) { return peers[id]; });
    if (olderThanMe(list) >= PYTHON_FRAMES) {
      setPython(false);
      return;
    }
    // told of older frames the group has not heard from yet: they may be busy booting (they
    // answer once their main thread is free), or of another group: wait until each answers or
    // goes (its registry entry removed or stale), GRACE_MS at most
    var all = registry() || {};
    var unconfirmed = Object.keys(heard).filter(function (id) {
      var group = all[id] && all[id].group;
      return !peers[id] && older({ id: id, born: heard[id] }, me) && !(group && group !== api.group);
    });
    if (api.python !== true && unconfirmed.length && hinted) {
      graceSince = graceSince || now();
      if (now() - graceSince < GRACE_MS) {
        clearTimeout(grace);
        grace = setTimeout(function () {
          var now_ = registry();
          if (now_) unconfirmed.forEach(function (id) { if (!now_[id]) delete heard[id]; });
          rank();
        }, GRACE_CHECK_MS);
        return;
      }
    }
    // A stand-in boots once the older Python frames are up (two interpreters booting at once
    // on an office PC make both late); a relay meanwhile. STANDIN_WAIT_MS at most.
    var elders = list.filter(function (p) { return older(p, me); });
    if (elders.length && elders.some(function (p) { return !p.ready; })) {
      standInSince = standInSince || now();
      if (now() - standInSince < STANDIN_WAIT_MS) {
        setPython(false);
        clearTimeout(standInTimer);
        standInTimer = setTimeout(rank, STANDIN_WAIT_MS);
        return;
      }
    }
    setPython(true);
  }

  function hintPost(message) {
    if (!hint) return;
    message.from = me.id;
    try { hint.postMessage(message); } catch (error) { /* closing */ }
  }

  // The registry: every frame's {born, seen} in the partition's localStorage, written when it
  // starts (a frame busy booting Pyodide cannot answer a message for a while; what it wrote
  // stays readable), refreshed every PING_MS, removed on pagehide. Storage blocked: none.
  function registry(change) {
    try {
      var all = JSON.parse(localStorage.getItem(registryKey) || "{}") || {};
      var t = now();
      Object.keys(all).forEach(function (id) {
        if (!all[id] || !(t - all[id].seen < STALE_MS)) delete all[id];
      });
      if (change) {
        change(all);
        localStorage.setItem(registryKey, JSON.stringify(all));
      }
      return all;
    } catch (error) {
      return null;
    }
  }

  function listed(all) {
    Object.keys(all || {}).slice(0, MAX_HEARD).forEach(function (id) {
      if (id !== me.id && all[id] && typeof all[id].born === "number") heard[id] = all[id].born;
    });
  }

  function hintedOlder() {
    var list = Object.keys(heard).map(function (id) { return { id: id, born: heard[id] }; });
    return olderThanMe(list);
  }

  function askHint() {
    if (PYTHON_FRAMES === 0) {
      setPython(true);
      return;
    }
    var host = String(window.name || "").split("|")[0] || "?";
    registryKey = "bx24-frames|" + host;
    var all = registry(function (entries) { entries[me.id] = { born: me.born, seen: now() }; });
    listed(all);
    if (all !== null) setInterval(refresh, REFRESH_MS);
    try {
      hint = new BroadcastChannel("bx24-frames-hint|" + host);
    } catch (error) {
      setPython(true);  // no channel: no group either, this frame leads alone
      return;
    }
    hint.onmessage = function (event) {
      var m = event.data;
      if (!m || typeof m !== "object" || !m.from || m.from === me.id) return;
      if (m.type === "here" && typeof m.born === "number") {
        if (!(m.from in heard) && Object.keys(heard).length >= MAX_HEARD) return;  // a flood
        heard[m.from] = m.born;
        if (!m.reply) hintPost({ type: "here", born: me.born, reply: true });
        if (!hinted && hintedOlder() >= PYTHON_FRAMES) hinted = true;  // wait for the group
      } else if (m.type === "bye") {
        delete heard[m.from];
      }
    };
    hintPost({ type: "here", born: me.born });
    if (all !== null || hintedOlder() >= PYTHON_FRAMES) {
      // the registry lists every frame of the partition: no need to wait for answers. With
      // enough older frames this one is a relay from now on (its events kept until it knows
      // its leader); it starts Python only if its group's rank says so later.
      hinted = true;
      if (hintedOlder() === 0) setPython(true);
      else if (hintedOlder() >= PYTHON_FRAMES) setPython(false);
      return;  // a stand-in: its group's rank and the older frames' Python decide
    }
    setTimeout(function () {
      if (hinted) return;
      hinted = true;
      if (api.python === null && hintedOlder() === 0) setPython(true);
    }, HINT_MS);
  }

  function drop(id) {
    delete heard[id];  // gone: not waited for either
    if (!peers[id]) return;
    delete peers[id];
    handlers.gone.forEach(function (fn) { try { fn(id); } catch (error) { console.error(error); } });
    elect();
  }

  function reborn() {  // told it was gone: come back as the youngest
    me.born = now();
    post({ type: "hello", born: me.born, ready: me.ready });
    elect();
  }

  function receive(event) {
    var m = event.data;
    if (!m || typeof m !== "object" || !m.from || m.from === me.id) return;
    switch (m.type) {
      case "hello":
        peers[m.from] = { id: m.from, born: m.born, ready: !!m.ready };
        post({ type: "alive", born: me.born, ready: me.ready });
        elect();
        break;
      case "alive":
      case "lead":  // a leader's heartbeat: an older one makes a leader that missed it step down
        peers[m.from] = { id: m.from, born: m.born, ready: !!m.ready };
        elect();
        break;
      case "python-ready":
        if (peers[m.from]) peers[m.from].ready = true;
        rank();
        break;
      case "bye":
        drop(m.from);
        break;
      case "gone":
        if (m.id === me.id) reborn();
        else drop(m.id);
        break;
      case "ping":
        if (m.to === me.id) post({ type: "pong", to: m.from });
        break;
      case "pong":
        if (m.to === me.id && pinging) {
          clearTimeout(pinging.timer);
          pinging = null;
        }
        break;
      case "forward":
        if (m.to !== me.id || leaving || !handlers.forwarded) break;
        post({ type: "took", to: m.from, seq: m.seq });
        handlers.forwarded(m.message, m.from);
        break;
      case "took":
        if (m.to === me.id) sent = sent.filter(function (item) { return item.seq > m.seq; });
        break;
      case "request":
        if (m.to !== me.id || !handlers.request) break;
        Promise.resolve(handlers.request(m.body)).then(function (reply) {
          post({ type: "reply", to: m.from, id: m.id, reply: reply });
        });
        break;
      case "reply":
        if (m.to === me.id && pending[m.id]) {
          clearTimeout(pending[m.id].timer);
          pending[m.id].resolve(m.reply);
          delete pending[m.id];
        }
        break;
      case "note":
        notes.push(String(m.text));
        notes = notes.slice(-MAX_NOTES);
        break;
      case "notes-taken":
        notes = [];
        break;
    }
  }

  function refresh() {
    if (!leaving) {
      registry(function (all) {
        all[me.id] = { born: me.born, seen: now(), group: api.group || undefined };
      });
    }
  }

  function beat() {
    if (api.leader === true && channel) post({ type: "lead", born: me.born, ready: me.ready });
    else ping();
  }

  function ping() {
    if (api.leader !== false || pinging) return;
    var leaderId = api.leaderId;
    pinging = {
      leaderId: leaderId,
      timer: setTimeout(function () {
        pinging = null;
        post({ type: "gone", id: leaderId });
        drop(leaderId);
      }, PONG_MS),
    };
    post({ type: "ping", to: leaderId });
  }

  if (typeof addEventListener === "function") {
    addEventListener("pagehide", function () {
      leaving = true;
      post({ type: "bye" });
      hintPost({ type: "bye" });
      if (registryKey) registry(function (all) { delete all[me.id]; });
    });
    addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      leaving = false;
      reborn();
    });
  }
  window.bx24Frames = api;
  askHint();
  try { window.dispatchEvent(new Event("bx24-frames")); } catch (error) { /* no DOM events */ }
})();
