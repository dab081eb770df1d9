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
  var NOTES_KEY = "bx24-frames-notes";
  var MAX_NOTES = 5;

  function now() { return performance.timeOrigin + performance.now(); }
  function newId() { return Math.random().toString(36).slice(2, 10) + Date.now().toString(36); }

  var me = { id: newId(), born: now() };
  var peers = {};        // id -> {id, born}
  var decided = false;
  var handlers = { leader: [], forwarded: null, request: null, gone: [] };
  var pending = {};      // request id -> {resolve, timer}
  var notes = [];
  var pinging = null;    // {leaderId, timer} while a ping waits for its pong
  var channel = null;    // the group's, once joined
  var settling = null;
  var beating = null;

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
    forward: function (message) {
      post({ type: "forward", to: api.leaderId, message: message });
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
    decided = false;
    post({ type: "hello", born: me.born });
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
    decided = true;
    elect();
  }

  function elect() {
    if (!decided) return;
    var best = me;
    Object.keys(peers).forEach(function (id) { if (older(peers[id], best)) best = peers[id]; });
    var was = api.leader;
    api.leaderId = best.id;
    api.leader = best.id === me.id;
    if (was !== api.leader) {
      handlers.leader.forEach(function (fn) {
        try { fn(api.leader); } catch (error) { console.error("[bx24 frames]", error); }
      });
    }
  }

  function drop(id) {
    if (!peers[id]) return;
    delete peers[id];
    handlers.gone.forEach(function (fn) { try { fn(id); } catch (error) { console.error(error); } });
    elect();
  }

  function reborn() {  // told it was gone: come back as the youngest
    me.born = now();
    post({ type: "hello", born: me.born });
    elect();
  }

  function receive(event) {
    var m = event.data;
    if (!m || typeof m !== "object" || !m.from || m.from === me.id) return;
    switch (m.type) {
      case "hello":
        peers[m.from] = { id: m.from, born: m.born };
        post({ type: "alive", born: me.born });
        elect();
        break;
      case "alive":
      case "lead":  // a leader's heartbeat: an older one makes a leader that missed it step down
        peers[m.from] = { id: m.from, born: m.born };
        elect();
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
        if (m.to === me.id && handlers.forwarded) handlers.forwarded(m.message, m.from);
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

  function beat() {
    if (api.leader === true && channel) post({ type: "lead", born: me.born });
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
    addEventListener("pagehide", function () { post({ type: "bye" }); });
    addEventListener("pageshow", function (event) { if (event.persisted) reborn(); });
  }
  window.bx24Frames = api;
})();
