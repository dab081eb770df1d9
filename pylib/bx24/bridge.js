/* bx24 bridge: the JavaScript half of the bx24 Python library.
 *
 * Loaded as a plain script right after Bitrix24's BX24 library and before PyScript.
 * Python takes seconds to boot (Pyodide) while Bitrix24 may already fire
 * `entityChanged` and `initialized`, so this script binds every
 * BackgroundCallCard::* event exactly once at BX24.init and queues them until
 * Python attaches; attach() then delivers the queue in order, once, and live
 * events after it.
 *
 * Everything crossing into Python is a JSON string: the one conversion Pyodide
 * and MicroPython do the same way (an `undefined` payload simply disappears).
 * Every request returns a Promise that always resolves, with an envelope:
 *   {"status": "answer", "data": <callback argument>}
 *   {"status": "no_answer"}               nothing within waitMs
 *   {"status": "unavailable", "message"}  no BX24 on the page, or it threw
 * so Python awaits Promises and never needs a Future or a timer of its own.
 * An answer arriving after its request resolved is delivered to the attached
 * handler as {"type": "late", "command", "data"} (for the timer commands, which
 * Bitrix24 answers only on error, that is how a late "Call card is undefined"
 * reaches Python). Events are {"type": "event", "name", "payload"}.
 *
 * window.bx24Bridge:
 *   attach(handler)                       handler(messageJson); once per page;
 *                                         sets <html data-bx24="ready"> when the queue is delivered
 *   call(command, paramsJson, waitMs)     BX24.placement.call → Promise<envelope JSON>
 *   info(waitMs)                          BX24.placement.info() → Promise<envelope JSON>
 *   getInterface(waitMs)                  BX24.placement.getInterface → Promise<envelope JSON>
 *   rest(method, body, waitMs)            POST <portal>/rest/<method>.json with the form-encoded
 *                                         body (bx24/form.py) and the token → Promise<envelope
 *                                         JSON>, data: {http, json} | {http, text} | {network}
 *   refreshAuth(waitMs)                   BX24.refreshAuth → Promise<envelope JSON>
 *   beacon(method, body)                  the same POST, fire and forget (a page closing)
 *   onPageHide(handler)                   handler() on pagehide (navigation, tab closed)
 *   onLeader(handler)                     handler(isLeader): this frame leads the operator's
 *                                         frames (frames.js), or stopped; at once without it
 *   leaveNote(text), takeNotes()          a note for the next leader; the notes, JSON
 *   sip(optionsJson, receive)             Promise of a SIP phone (sip.mjs over JsSIP)
 * On the application's own pages (install, main: boot config `page`), which have no call card:
 *   config()                              JSON: {page, app, server} of the boot config
 *   appInfo(waitMs)                       Promise<envelope JSON>, data: {admin, lang, domain,
 *                                         member, placement, page (its URL, no query), query}
 *   installFinish(waitMs)                 BX24.installFinish() after BX24.init
 *   server(path, payloadJson, waitMs)     POST the payload with BX24.getAuth()'s tokens (`auth`)
 *                                         as JSON to the app's server (path relative to the
 *                                         page) → Promise<envelope JSON>, data like rest()'s
 *   microphone(waitMs)                    getUserMedia({audio}) once, the tracks stopped →
 *                                         data: {ok, label} | {error, message}
 *   pageReady(state)                      <html data-bx24="ready">, data-bx24-page=state
 *   events, initialized, attached, queued()   for debugging and tests
 *
 * With frames.js on the page (the production page has it), only the leader's Python gets the
 * card's events: a follower forwards those Bitrix24 fires in it, and carries out the leader's
 * commands for the card it shows (the frame that got `initialized` for the call).
 */
(function () {
  "use strict";

  // The page's boot config (bx24_frame/site.py writes it): the card's events come from there,
  // from the bx24 library's own list (bx24/events.py), never from a copy of this file's.
  var BOOT = (function () {
    try {
      return JSON.parse(document.getElementById("bx24-boot").textContent) || {};
    } catch (error) {
      return {};
    }
  })();
  var PREFIX = "BackgroundCallCard::";
  var EVENTS = BOOT.events || [];
  // "worker" (the hidden PAGE_BACKGROUND_WORKER frame), or one of the application's own pages
  // ("install", "main"): those have no call card, no event to bind and no election.
  var PAGE = BOOT.page || "worker";
  var ATTACH_HINT_MS = 15000;
  // The largest event that reaches Python (a long comment is the usual big one); a larger one
  // arrives as {oversized: <length>} and its handlers are skipped, never silently dropped.
  // MicroPython's heap (bx24_frame/page/micropython-heap.mjs) is sized for this.
  var MAX_EVENT_CHARS = 5 * 1024 * 1024;
  // What a console message may quote of a payload: enough to recognise it.
  var QUOTE_CHARS = 300;

  var queue = [];          // JSON messages not yet handed to Python
  var receiver = null;     // Python's handler, once attached
  var flushing = false;
  var initialized = false; // BX24.init has run
  var afterInit = [];      // requests waiting for BX24.init

  function log(level, message) {
    console[level]("[bx24 bridge] " + message);
  }

  function quote(text) {
    text = String(text);
    return text.length <= QUOTE_CHARS ? text
      : text.slice(0, QUOTE_CHARS) + "… (" + text.length + " characters)";
  }

  function bx24() {
    var lib = window.BX24;
    return lib && lib.placement ? lib : null;
  }

  function encode(message) {
    try {
      return JSON.stringify(message);
    } catch (error) { // e.g. a cyclic payload: Python sees a malformed one, not nothing
      message.payload = message.data = { unserializable: String(error) };
      return JSON.stringify(message);
    }
  }

  function flush() {
    if (flushing || !receiver) return;
    flushing = true;
    try {
      while (queue.length) {
        var text = queue.shift();
        try {
          receiver(text);
        } catch (error) {
          log("error", "the Python handler failed on " + quote(text) + ": " + quote(error));
        }
      }
    } finally {
      flushing = false;
    }
  }

  function deliver(message) {
    var text = encode(message);
    if (text.length > MAX_EVENT_CHARS && message.type === "event") {
      log("warn", message.name + ": a payload of " + text.length + " characters is over the " +
        MAX_EVENT_CHARS + " bx24 takes: its handlers are skipped");
      text = JSON.stringify({ type: "event", name: message.name, oversized: text.length });
    }
    queue.push(text);
    flush();
  }

  function unavailable(message) {
    return JSON.stringify({ status: "unavailable", message: message });
  }

  var MISSING = "BX24 is not loaded: the frame must load https://api.bitrix24.com/api/v1/ " +
    "before pylib/bx24/bridge.js";

  /* One request to BX24 after BX24.init: start(done) sends it, done(data) answers.
   * Resolves with the answer, or no_answer after waitMs (then the request is not
   * even sent if BX24.init had not come yet, and onTimeout runs); a later answer goes to
   * onLate. */
  function request(waitMs, start, onLate, onTimeout) {
    return new Promise(function (resolve) {
      if (!bx24()) {
        resolve(unavailable(MISSING));
        return;
      }
      var settled = false;
      var timer = setTimeout(function () {
        settled = true;
        if (onTimeout) onTimeout();
        resolve(JSON.stringify({ status: "no_answer" }));
      }, waitMs);
      function done(data) {
        if (settled) {
          if (onLate) onLate(data);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(encode({ status: "answer", data: data }));
      }
      function send() {
        if (settled) return;
        try {
          start(done);
        } catch (error) {
          settled = true;
          clearTimeout(timer);
          resolve(unavailable("BX24 threw: " + error));
        }
      }
      if (initialized) send();
      else afterInit.push(send);
    });
  }

  function localCall(command, paramsJson, waitMs, onLate) {
    return request(waitMs, function (done) {
      var params = paramsJson ? JSON.parse(paramsJson) : {};
      window.BX24.placement.call(command, params, done);
    }, function (data) {
      (onLate || deliver)({ type: "late", command: command, data: data });
    });
  }

  /* A card command: sent here, or, in the leader while another frame's card shows the call,
   * by that frame (frames.js) with the same answers and timeouts. */
  function call(command, paramsJson, waitMs) {
    if (frames && frames.leader && cardFrame) {
      var body = { command: command, params: paramsJson, waitMs: waitMs };
      return frames.request(cardFrame, body, waitMs + REMOTE_EXTRA_MS).then(function (reply) {
        return reply === null ? JSON.stringify({ status: "no_answer" }) : reply;
      });
    }
    return localCall(command, paramsJson, waitMs);
  }

  // -- the operator's other frames (frames.js): the leader acts, the others relay ----------

  var frames = window.bx24Frames || null;
  var REMOTE_EXTRA_MS = 500;  // a command relayed to another frame: its channel round trip
  var undecided = [];         // card events that came before this frame knew its role
  var cardFrame = null;       // the frame whose card shows the call, when not this one
  var leaderHandlers = [];

  function cardEvent(message, from) {
    if (frames && frames.leader === null) {
      undecided.push(message);
    } else if (frames && frames.leader === false) {
      frames.forward(message);  // the leader's Python acts on it
    } else {
      if (message.type === "event" && message.name === "initialized") cardFrame = from || null;
      deliver(message);
    }
  }

  if (frames) {
    frames.onLeader(function (leading) {
      undecided.splice(0).forEach(function (message) { cardEvent(message); });
      if (!leading) {
        cardFrame = null;
        // led for a moment without Python attached: what it kept goes to the leader, in order
        if (!receiver) queue.splice(0).forEach(function (text) { frames.forward(JSON.parse(text)); });
      }
      signalReady();
      leaderHandlers.forEach(function (fn) {
        try { fn(leading); } catch (error) { log("error", "a leader handler failed: " + quote(error)); }
      });
    });
    frames.onForwarded(function (message, from) {
      if (frames.leader) cardEvent(message, from);
    });
    frames.onRequest(function (body) {  // the leader's command for the card in this frame
      return localCall(body.command, body.params, body.waitMs, function (late) {
        frames.forward(late);
      });
    });
    frames.onGone(function (id) { if (id === cardFrame) cardFrame = null; });
    if (frames.onPython) {
      frames.onPython(function (runs) {
        if (!runs && !receiver) document.documentElement.dataset.bx24Python = "none";
        signalReady();
      });
    }
  }

  /* The operator's group of frames (frames.js): a channel named by a hash of the portal's
   * member id and a random secret kept in the operator's own option of the application
   * (BX24.userOption, FRAMES_OPTION; the portal hands it to the application's frames in their
   * init data). Only frames of this application, on this portal, for this user, have both: a
   * page without them cannot name the channel. The first frame ever makes the secret; if two
   * first frames made one at once, each checks a moment later what the portal kept, and joins
   * that group. Resolves with the name, or null (the frame then leads alone). */
  var FRAMES_OPTION = "bx24_frames";
  var RECHECK_MS = 2000;

  function hex(bytes) {
    return Array.prototype.map.call(new Uint8Array(bytes), function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function groupName(member, secret) {
    var data = new TextEncoder().encode("bx24-frames|" + member + "|" + secret);
    return crypto.subtle.digest("SHA-256", data).then(function (digest) {
      return "bx24-frames." + hex(digest).slice(0, 32);
    });
  }

  function frameGroup() {
    try {
      var auth = window.BX24.getAuth();
      var member = auth && auth.member_id;
      var options = window.BX24.userOption;
      if (!member) return Promise.resolve({ why: "BX24 has no token (no member id)" });
      if (!options || typeof options.get !== "function" || !window.crypto || !crypto.subtle) {
        return Promise.resolve({ why: "no user options or no Web Crypto here" });
      }
      var secret = options.get(FRAMES_OPTION);
      if (!/^[0-9a-f]{64}$/.test(String(secret || ""))) {
        secret = hex(crypto.getRandomValues(new Uint8Array(32)));
        options.set(FRAMES_OPTION, secret);
        setTimeout(function () { recheck(member, secret); }, RECHECK_MS);
      }
      return groupName(member, secret).then(function (name) { return { name: name }; });
    } catch (error) {
      return Promise.resolve({ why: "cannot tell the group: " + error });
    }
  }

  function recheck(member, mine) {
    rest("user.option.get", "option=" + FRAMES_OPTION, 10000).then(function (envelope) {
      var answer = JSON.parse(envelope);
      var kept = answer.status === "answer" && answer.data.json && answer.data.json.result;
      if (kept && kept !== mine && /^[0-9a-f]{64}$/.test(String(kept))) {
        return groupName(member, kept).then(function (name) { frames.join(name); });
      }
    }).catch(function () { /* the group made stays */ });
  }

  function onLeader(handler) {
    if (typeof handler !== "function") throw new TypeError("bx24Bridge.onLeader needs a function");
    leaderHandlers.push(handler);
    if (!frames) handler(true);
    else if (frames.leader !== null) handler(frames.leader);
  }

  function leaveNote(text) {
    if (frames) frames.note(text);
  }

  function takeNotes() {
    return JSON.stringify(frames ? frames.takeNotes() : []);
  }

  /* The SIP softphone's phone (sip.mjs, which imports the JsSIP bundle): both URLs are in the
   * page's boot config, so nothing is downloaded unless an app makes one. A page with
   * window.bx24SipStandIn (the kit's and the emulator's sip-stub.js) gets that phone instead. */
  function sip(optionsJson, receive) {
    var glue;
    var jssip = null;
    if (window.bx24SipStandIn) {
      glue = Promise.resolve(window.bx24SipStandIn);
    } else {
      var urls = BOOT.sip;
      var absolute = function (url) { return new URL(url, document.baseURI).href; };
      jssip = absolute(urls.jssip);
      glue = import(absolute(urls.glue));
    }
    return glue.then(function (module) {
      return module.createPhone(jssip, optionsJson, receive);
    }).then(function (phone) {
      bridge.sipPhone = phone;  // for tests and the curious: the phone in use
      return phone;
    });
  }

  function info(waitMs) {
    return request(waitMs, function (done) {
      done(window.BX24.placement.info());
    });
  }

  function getInterface(waitMs) {
    return request(waitMs, function (done) {
      window.BX24.placement.getInterface(done);
    });
  }

  /* REST: the request BX24.callMethod would send (docs/bitrix24.md, "REST through the real
   * library"), sent here so that every answer reaches Python: an HTTP 5xx, a body that is not
   * JSON and a network failure too, which the library throws away (bx24/rest.py says more).
   * The token comes from BX24.getAuth() and goes into the body only: never into a log. */
  var REST_PATH = "/rest";

  function restUrl(auth, method) {
    var protocol = String(window.name || "").split("|")[1] === "0" ? "http" : "https";
    var domain = String(auth.domain || window.BX24.getDomain()).replace(/:(80|443)$/, "");
    return protocol + "://" + domain + REST_PATH + "/" + encodeURIComponent(method) + ".json";
  }

  function authorized(then) {
    var auth = window.BX24.getAuth();
    if (auth) return then(auth);
    window.BX24.refreshAuth(function (fresh) { then(fresh || window.BX24.getAuth()); });
  }

  function post(auth, method, body, keepalive, signal) {
    if (!auth) return Promise.reject(new Error("BX24 has no token for REST (BX24.getAuth() is false)"));
    return fetch(restUrl(auth, method), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "auth=" + encodeURIComponent(auth.access_token) + (body ? "&" + body : ""),
      credentials: "omit",
      keepalive: !!keepalive,
      signal: signal,
    });
  }

  function rest(method, body, waitMs) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    return request(waitMs, function (done) {
      authorized(function (auth) {
        post(auth, method, body, false, controller && controller.signal).then(function (response) {
          return response.text().then(function (text) {
            var json = null;
            try { json = JSON.parse(text); } catch (error) { /* reported as not JSON */ }
            done(json !== null && typeof json === "object"
              ? { http: response.status, json: json }
              : { http: response.status, text: text.slice(0, 300) });
          });
        }, function (error) {
          done({ network: String(error && error.message || error) });
        });
      });
    }, null, function () { if (controller) controller.abort(); });
  }

  // -- the application's own pages (install, main) ---------------------------------------------

  function config() {
    return JSON.stringify({ page: PAGE, app: BOOT.app || {}, server: BOOT.server || {} });
  }

  function pageUrl() {
    return String(location.href).split("#")[0].split("?")[0];
  }

  function appInfo(waitMs) {
    return request(waitMs, function (done) {
      var lib = window.BX24;
      var auth = lib.getAuth() || {};
      var placement = null;
      try { placement = lib.placement.info().placement || null; } catch (error) { /* none */ }
      done({
        admin: !!lib.isAdmin(), lang: lib.getLang(), domain: String(auth.domain || lib.getDomain()),
        member: auth.member_id || null, placement: placement, page: pageUrl(),
        query: String(location.search).slice(1),
      });
    });
  }

  function installFinish(waitMs) {
    return request(waitMs, function (done) {
      window.BX24.installFinish();  // no answer: the portal reloads the page when it worked
      done(true);
    });
  }

  /* The app's server (bx24 serve with the application's credentials): the payload and this
   * user's tokens, which the server checks with Bitrix24's OAuth server. Same origin as the
   * page; the tokens go into the body only. */
  function server(path, payloadJson, waitMs) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    return request(waitMs, function (done) {
      authorized(function (auth) {
        var payload = JSON.parse(payloadJson || "{}");
        if (auth) {
          payload.auth = {
            access_token: auth.access_token, refresh_token: auth.refresh_token,
            expires_in: auth.expires_in, domain: auth.domain, member_id: auth.member_id,
          };
        }
        fetch(new URL(path, document.baseURI).href, {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload), credentials: "omit",
          signal: controller && controller.signal,
        }).then(function (response) {
          return response.text().then(function (text) {
            var json = null;
            try { json = JSON.parse(text); } catch (error) { /* not JSON */ }
            done(json !== null && typeof json === "object"
              ? { http: response.status, json: json }
              : { http: response.status, text: text.slice(0, 300) });
          });
        }, function (error) {
          done({ network: String(error && error.message || error) });
        });
      });
    }, null, function () { if (controller) controller.abort(); });
  }

  /* The microphone, asked once (the browser's prompt shows on this visible page, not in the
   * hidden worker), its tracks stopped at once. */
  function microphone(waitMs) {
    return request(waitMs, function (done) {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        done({ error: "NotSupportedError", message: "this page cannot use a microphone (not a " +
          "secure context?)" });
        return;
      }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var tracks = stream.getAudioTracks();
        var label = tracks.length ? tracks[0].label : "";
        stream.getTracks().forEach(function (track) { track.stop(); });
        done({ ok: true, label: label });
      }, function (error) {
        done({ error: String(error && error.name || "Error"),
               message: String(error && error.message || error) });
      });
    });
  }

  function pageReady(state) {
    var root = document.documentElement;
    if (state) root.dataset.bx24Page = String(state);
    root.dataset.bx24 = "ready";
  }

  function refreshAuth(waitMs) {
    return request(waitMs, function (done) {
      window.BX24.refreshAuth(function () { done(true); });
    });
  }

  function beacon(method, body) {
    if (!bx24()) return;
    try {
      authorized(function (auth) { post(auth, method, body, true).catch(function () {}); });
    } catch (error) { /* a page that is closing has no one to tell */ }
  }

  function attach(handler) {
    if (receiver) throw new Error("bx24Bridge.attach: already attached (one call card per page)");
    if (typeof handler !== "function") throw new TypeError("bx24Bridge.attach needs a function");
    receiver = handler;
    bridge.attached = true;
    flush();
    document.documentElement.dataset.bx24Python = "ready";
    if (frames && frames.pythonReady) frames.pythonReady();  // a stand-in may boot now
    signalReady();
  }

  /* Ready (<html data-bx24="ready">) means every event fired so far reaches the Python that
   * handles it: this frame's, attached; or, in a relay (frames.js: a frame that runs no
   * Python), the leader's, forwarded. With frames.js, once this frame knows its role (the
   * events held meanwhile go on then). data-bx24-python says which: "ready" (attached),
   * "none" (a relay), "booting" (boot.js: a relay that became a Python frame, its events held
   * in order until it attaches), "error". */
  function signalReady() {
    if (frames && (frames.leader === null || frames.python === null)) return;
    if (receiver || (frames && frames.python === false)) {
      document.documentElement.dataset.bx24 = "ready";
    }
  }

  function onInit() {
    if (initialized) return;
    initialized = true;
    bridge.initialized = true;
    if (PAGE !== "worker") {  // an application page: no card, no election
      afterInit.splice(0).forEach(function (send) { send(); });
      return;
    }
    var placement = null;
    try {
      placement = window.BX24.placement.info().placement;
    } catch (error) { /* reported by Python when it asks */ }
    if (!EVENTS.length) {
      log("error", "the page's boot config (#bx24-boot) names no call-card events: was this " +
        "page made by bx24 (bx24 serve, bx24 export)?");
    }
    if (placement !== "PAGE_BACKGROUND_WORKER") {
      log("error", "this frame runs in placement " + JSON.stringify(placement) +
        ": call-card events and commands exist only in PAGE_BACKGROUND_WORKER");
    }
    EVENTS.forEach(function (name) {
      window.BX24.placement.bindEvent(PREFIX + name, function (payload) {
        cardEvent({ type: "event", name: name, payload: payload });
      });
    });
    afterInit.splice(0).forEach(function (send) { send(); });
    if (frames) {
      frameGroup().then(function (group) {
        if (group.name) frames.join(group.name);
        else frames.alone(group.why);
      });
    }
    setTimeout(function () {
      if (!receiver) {
        log("warn", "Python has not attached after " + ATTACH_HINT_MS / 1000 + " s; " +
          queue.length + " message(s) waiting (did main.py call card.attach()?)");
      }
    }, ATTACH_HINT_MS);
  }

  function onPageHide(handler) {
    window.addEventListener("pagehide", function () {
      try { handler(); } catch (error) { log("error", "the page-hide handler failed: " + quote(error)); }
    });
  }

  var bridge = {
    attach: attach,
    onPageHide: onPageHide,
    onLeader: onLeader,
    leaveNote: leaveNote,
    takeNotes: takeNotes,
    sip: sip,
    call: call,
    info: info,
    getInterface: getInterface,
    rest: rest,
    refreshAuth: refreshAuth,
    beacon: beacon,
    config: config,
    appInfo: appInfo,
    installFinish: installFinish,
    server: server,
    microphone: microphone,
    pageReady: pageReady,
    events: EVENTS.slice(),
    initialized: false,
    attached: false,
    queued: function () { return queue.length + undecided.length; },
  };
  window.bx24Bridge = bridge;

  if (bx24() && typeof window.BX24.init === "function") {
    window.BX24.init(onInit);
  } else {
    log("error", MISSING);
    if (frames) frames.alone("no BX24 library on the page");
  }
})();
