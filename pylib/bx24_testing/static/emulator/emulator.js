/*
 * The call-card emulator: draws the BX24 stub's simulated call card around the real frame.
 *
 * The frame runs in the iframe from `/?emulator` (the frame's own page with Bitrix24's library
 * replaced by the stub), loaded from the other loopback name than this page's (127.0.0.1 and
 * localhost), so that it is cross-site as on a portal: its storage is third-party. The stub and
 * this page talk by postMessage (bx24-stub.js, "the emulator link"): the stub sends every change
 * with the card as it is, the frame's console and its ready signal; this page calls the stub's
 * control API (raise a call, click, fire, configure) and draws the card it was last sent.
 */
(function () {
  "use strict";

  var LABELS = {
    answer: "Answer", skip: "Skip", makeCall: "Call", hangup: "Hang up", hold: "Hold",
    mute: "Mute", transfer: "Transfer", dialpad: "Dial pad", qualityMeter: "Rate call",
    completeTransfer: "Transfer", cancelTransfer: "Back to call", close: "Close",
    notifyAdmin: "Notify admin", next: "Next", addComment: "Save comment",
  };
  var TONES = {
    answer: "go", makeCall: "go", completeTransfer: "go", skip: "stop", hangup: "stop",
    close: "stop", notifyAdmin: "warn",
  };
  // Buttons drawn by their own widgets rather than in the button row.
  var WIDGET_BUTTONS = ["addComment", "transfer", "qualityMeter"];

  var connected = false;      // the stub of the frame now loaded said hello
  var card = null;            // the card as the stub last sent it
  var cardAt = 0;             // when (performance.now()) it was sent: the timer ticks on
  var config = { mode: "browser", restResponses: {} };
  var pending = {};
  var nextCall = 1;
  var dialpadOpen = false;
  var $ = function (id) { return document.getElementById(id); };

  // ------------------------------------------------------------------ the stub, by postMessage

  function call(method) {
    var args = Array.prototype.slice.call(arguments, 1);
    return new Promise(function (resolve, reject) {
      var frame = $("frame").contentWindow;
      if (!connected || !frame) return reject(new Error("The frame is not loaded yet."));
      var id = nextCall++;
      pending[id] = { resolve: resolve, reject: reject };
      frame.postMessage({ bx24Emulator: "call", id: id, method: method, args: args }, "*");
    });
  }

  var initData = {};  // sid -> the frame's init data (this page is its portal)

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== $("frame").contentWindow || !data) return;
    if (data.bx24Portal === "installFinished") {  // as the portal does: the main page now
      $("page").value = "main";
      loadFrame();
      return;
    }
    if (!data.bx24Stub) return;
    if (data.bx24Stub === "getInitData" && initData[data.sid]) {
      event.source.postMessage({ bx24Portal: "initData", sid: data.sid, data: initData[data.sid] }, "*");
    } else if (data.bx24Stub === "reply") {
      var waiting = pending[data.id];
      delete pending[data.id];
      if (waiting && "error" in data) waiting.reject(new Error(data.error));
      else if (waiting) waiting.resolve(data.result);
    } else if (data.bx24Stub === "console") {
      consoleLine(data.level, data.text);
    } else if (data.bx24Stub === "signal") {
      showSignal(data.value, data.python);
    } else if (data.bx24Stub === "change") {
      card = data.card;
      cardAt = performance.now();
      if (data.kind === "hello") hello(data.entry);
      else onStubChange(data.kind, data.entry);
      render();
    }
  });

  // The stub's hello carries the card's description (bx24_testing/cardmodel.py): the events
  // the fire form offers come from it, never from a list of this page's own.
  function hello(model) {
    if (model && model.events) offerEvents(model.events);
    connected = true;
    setFrameStatus("loading", "frame: booting…");
    logLine("info", "frame loaded: the stub is attached", "");
    call("configure", config).catch(function (error) { notice(error.message); });
  }

  /** For tests and the curious: the stub's control API, and the card as last sent. */
  window.emulator = { call: call, card: function () { return card; } };

  function onStubChange(kind, entry) {
    if (kind === "command") logCommand(entry);
    else if (kind === "event") logEvent(entry);
    else if (kind === "binding") {
      logLine("binding", "bindEvent " + entry.event,
        entry.accepted ? "" : "not an event of this placement: never fires", entry.time);
    }
    else if (kind === "rest") {
      logLine("rest", "REST " + entry.method + " " + json(entry.params), "→ " + json(entry.answer), entry.time);
    }
    else if (kind === "softphone") logLine("softphone", "☎ softphone " + entry.action + " " + json(entry.args), "the other side");
    else if (kind === "init") logLine("info", "BX24.init: the frame's init callbacks run", "");
  }

  // ------------------------------------------------------------------ the frame

  // `bx24 serve --emulator` answers the frame's own URL with "?emulator" by the frame's page
  // with Bitrix24's library replaced by emulator/bx24-stub.js. It is loaded from the other
  // loopback name, cross-site; on any other host name it can only be same-site.
  // The application's own pages (Page: install, main) are loaded from 127.0.0.1 whatever this
  // page's name: their Python binds the worker at their own address, and Bitrix24 (the
  // emulator's model too) refuses a handler on "localhost" (no dot in the name).
  var PAGES = {
    "worker": { path: "", user: 1, placement: "PAGE_BACKGROUND_WORKER" },
    "install": { path: "install", user: 2, placement: "DEFAULT", install: true },
    "main": { path: "main", user: 2, placement: "DEFAULT", install: false },
    "main-operator": { path: "main", user: 1, placement: "DEFAULT", install: false },
  };

  function page() { return PAGES[$("page").value] || PAGES.worker; }

  function frameUrl() {
    var names = { "127.0.0.1": "localhost", "localhost": "127.0.0.1" };
    var url = new URL("../" + page().path, location.href);
    url.hostname = page().path ? "127.0.0.1" : names[url.hostname] || url.hostname;
    url.search = "?emulator&interpreter=" + encodeURIComponent($("interpreter").value);
    return url.href;
  }

  // This page is the frame's portal: the server answers the portal's side (REST, the frame's
  // init data) from its model of Bitrix24. Each load is a new session: the operator's (user 1)
  // in PAGE_BACKGROUND_WORKER, or the page's user in the application's page, named in the
  // frame's window.name as Bitrix24 names it.
  function newSession() {
    var chosen = page();
    var body = { user: chosen.user, placement: chosen.placement };
    if (chosen.placement === "PAGE_BACKGROUND_WORKER") {
      body.options = { ID: "PAGE_BACKGROUND_WORKER", URI: "/crm/deal/" };
    } else {
      body.install = chosen.install;
    }
    return fetch("../_bx24portal/session", {
      method: "POST", headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) throw new Error("the portal answered " + response.status);
      return response.json();
    });
  }

  function loadFrame() {
    connected = false;
    card = null;
    dialpadOpen = false;
    Object.keys(pending).forEach(function (id) { pending[id].reject(new Error("the frame was reloaded")); });
    pending = {};
    $("console").textContent = "";
    setFrameStatus("loading", "frame: loading…");
    render();
    newSession().then(function (session) {
      initData = {};
      initData[session.sid] = session.init;
      var old = $("frame");
      var frame = old.cloneNode(false);  // a new browsing context, named before it loads
      frame.name = session.name;
      frame.src = frameUrl();
      old.replaceWith(frame);
    }, function (error) { setFrameStatus("error", "frame: no portal session (" + error.message + ")"); });
  }

  function setFrameStatus(status, text) {
    $("frame-status").dataset.status = status;
    $("frame-status").textContent = text;
  }

  // The frame marks <html data-bx24="ready|error"> (docs/architecture.md, "The ready signal").
  // A relay (data-bx24-python="none") runs no Python: the leader's handles its card's events.
  var RUNS = {
    ready: "its Python", none: "a relay: the leader's Python handles its card",
    booting: "a relay starting Python", error: "its Python failed",
  };
  function showSignal(value, python) {
    var runs = RUNS[python] ? " (" + RUNS[python] + ")" : "";
    if (python === "error") setFrameStatus("error", "frame: " + value + runs + " (see its console)");
    else if (value === "ready") setFrameStatus("ready", "frame: ready" + runs);
    else if (value) setFrameStatus("error", "frame: " + value + " (see its console)");
  }

  function consoleLine(level, text) {
    var item = document.createElement("li");
    item.className = "console-" + level;
    item.textContent = text;
    $("console").appendChild(item);
    item.scrollIntoView({ block: "nearest" });
  }

  // ------------------------------------------------------------------ the log

  function json(value) {
    return value === undefined ? "(nothing)" : JSON.stringify(value);
  }

  function logCommand(entry) {
    var outcome;
    if (entry.silent) outcome = "no callback (" + entry.silent + ")";
    else if (!entry.callback) outcome = "→ " + json(entry.result) + " (no callback given)";
    else outcome = "→ " + json(entry.result);
    var isError = JSON.stringify(entry.result || "").indexOf('"error"') >= 0;
    logLine(isError ? "command error" : "command", entry.command + " " + json(entry.params), outcome, entry.time);
  }

  function logEvent(entry) {
    var short = entry.event.replace("BackgroundCallCard::", "");
    var who = entry.handlers === 1 ? "1 handler" : entry.handlers + " handlers";
    logLine("event", "⚡ " + short + " " + json(entry.payload), who + " · " + entry.source, entry.time);
  }

  function logLine(kind, text, detail, time) {
    var item = document.createElement("li");
    item.className = kind.split(" ").map(function (k) { return "log-" + k; }).join(" ");
    var when = document.createElement("time");
    when.textContent = time === undefined ? "" : (time / 1000).toFixed(2) + "s";
    var main = document.createElement("span");
    main.className = "log-text";
    main.textContent = text;
    var extra = document.createElement("span");
    extra.className = "log-detail";
    extra.textContent = detail;
    item.append(when, main, extra);
    $("log").appendChild(item);
    item.scrollIntoView({ block: "nearest" });
  }

  // ------------------------------------------------------------------ the card

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  }

  function render() {
    var body = $("card-body");
    $("card").dataset.state = card ? (card.closed ? "closed" : card.state) : "none";
    $("card-empty").hidden = !!card && !card.closed;
    $("card-empty").textContent = !connected ? "Waiting for the frame…"
      : card && card.closed ? "The card was closed. Raise another call."
      : "No call. Raise one to see the card.";
    body.hidden = !card || card.closed;
    if (!card || card.closed) return;

    $("card-title").textContent = card.title || card.call.PHONE_NUMBER || "Unknown number";
    $("card-status").textContent = card.statusText;
    renderTimer();
    $("card-meta").textContent = [
      card.call.CALL_DIRECTION, card.call.PHONE_NUMBER || "number unknown",
      card.call.CRM_ENTITY_TYPE ? card.call.CRM_ENTITY_TYPE + " #" + card.call.CRM_ENTITY_ID : "no CRM entity",
      card.call.LINE_NAME || card.call.LINE_NUMBER,
    ].filter(Boolean).join(" · ");
    $("card-state").textContent = card.state;
    $("card-flags").textContent = [
      card.muted ? "muted" : "", card.held ? "on hold" : "",
      card.callListMode ? "call list" : "", card.transferred ? "transferred" : "",
      card.own ? "" : "not this app's call: silent",
    ].filter(Boolean).map(function (f) { return " · " + f; }).join("");

    renderButtons(card);
    $("dialpad").hidden = !(dialpadOpen && card.buttons.indexOf("dialpad") >= 0);
    $("quality").hidden = card.buttons.indexOf("qualityMeter") < 0;
    $("transfer").hidden = card.buttons.indexOf("transfer") < 0;
  }

  function renderTimer() {
    if (!card) return;
    var seconds = card.timer.seconds;
    if (card.timer.running) seconds += Math.floor((performance.now() - cardAt) / 1000);
    $("card-timer").hidden = !card.timer.visible;
    $("card-timer").textContent = clock(seconds);
    $("card-timer").classList.toggle("running", card.timer.running);
  }

  function renderButtons(card) {
    var row = $("card-buttons");
    row.textContent = "";
    card.buttons.forEach(function (name) {
      if (WIDGET_BUTTONS.indexOf(name) >= 0) return;
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.button = name;
      button.className = "card-button " + (TONES[name] || "");
      button.textContent = LABELS[name] || name;
      if (name === "mute" || name === "hold") {
        var on = name === "mute" ? card.muted : card.held;
        button.setAttribute("aria-pressed", String(on));
        button.textContent = name === "mute" ? (on ? "Unmute" : "Mute") : (on ? "Resume" : "Hold");
      }
      if (name === "dialpad") button.setAttribute("aria-pressed", String(dialpadOpen));
      row.appendChild(button);
    });
  }

  function click(button, arg) {
    var sent = arg === undefined ? call("click", button) : call("click", button, arg);
    sent.then(function () { notice(""); }, function (error) { notice(error.message); });
  }

  function notice(text) { $("notice").textContent = text; }

  // ------------------------------------------------------------------ forms and widgets

  function raiseCall(event) {
    event.preventDefault();
    var form = event.target.elements;
    var overrides = {
      PHONE_NUMBER: form.unknownNumber.checked ? null : form.PHONE_NUMBER.value,
      CALL_DIRECTION: form.CALL_DIRECTION.value,
      CALL_STATE: form.CALL_STATE.value,
      LINE_NUMBER: form.LINE_NUMBER.value,
      LINE_NAME: form.LINE_NAME.value,
      CRM_ENTITY_TYPE: form.CRM_ENTITY_TYPE.value,
      CRM_ENTITY_ID: form.CRM_ENTITY_TYPE.value ? Number(form.CRM_ENTITY_ID.value) || 0 : 0,
      CRM_BINDINGS: form.CRM_ENTITY_TYPE.value
        ? [{ ENTITY_TYPE: form.CRM_ENTITY_TYPE.value, ENTITY_ID: Number(form.CRM_ENTITY_ID.value) || 0 }]
        : [],
      CALL_LIST_MODE: form.CALL_LIST_MODE.checked,
    };
    dialpadOpen = false;
    call("raiseCall", overrides, { transferred: form.transferred.checked })
      .then(function () { notice(""); }, function (error) { notice(error.message); });
  }

  // The other side of the app's softphone (the SIP stand-in, or bx24.StandInSoftphone).
  function softphone(event) {
    event.preventDefault();
    var button = event.submitter || event.target;
    var action = button.dataset.action;
    if (!action) return;
    var form = $("softphone-form").elements;
    var args = [];
    if (action === "ring") {
      args.push(form.number.value);
      if (form.line.value) args.push(form.line.value);
    } else if (action === "fail") args.push(button.dataset.status);
    else if (action === "refuseRegistration") args.push(button.dataset.cause, Number(button.dataset.code));
    call.apply(null, ["softphone", action].concat(args))
      .then(function () { notice(""); }, function (error) { notice(error.message); });
  }

  function fireEvent(event) {
    event.preventDefault();
    var form = event.target.elements;
    var text = form.payload.value.trim();
    var payload;
    try {
      payload = text ? JSON.parse(text) : undefined;
    } catch (error) {
      return notice("The payload is not JSON: " + error.message);
    }
    call("fire", form.event.value, payload)
      .then(function () { notice(""); }, function (error) { notice(error.message); });
  }

  // REST methods the frame calls answer what this form says (method → Bitrix24 answer).
  function applyRestResponses(event) {
    if (event) event.preventDefault();
    var responses;
    try {
      responses = JSON.parse($("rest-form").elements.responses.value || "{}");
    } catch (error) {
      return notice("The REST answers are not JSON: " + error.message);
    }
    config.restResponses = responses;
    if (!connected) return;
    call("configure", { restResponses: responses })
      .then(function () { notice(""); }, function (error) { notice(error.message); });
  }

  function buildWidgets() {
    ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"].forEach(function (key) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.key = key;
      button.textContent = key;
      $("dialpad-keys").appendChild(button);
    });
    [1, 2, 3, 4, 5].forEach(function (n) {
      var star = document.createElement("button");
      star.type = "button";
      star.dataset.rating = String(n);
      star.title = n + " of 5";
      star.textContent = "★";
      $("stars").appendChild(star);
    });
  }

  function offerEvents(events) {
    var select = $("fire-event");
    var chosen = select.value;
    select.textContent = "";
    events.forEach(function (name) {
      var option = document.createElement("option");
      option.value = option.textContent = name;
      select.appendChild(option);
    });
    if (events.indexOf(chosen) >= 0) select.value = chosen;
  }

  function wire() {
    $("card-buttons").addEventListener("click", function (event) {
      var name = event.target.dataset && event.target.dataset.button;
      if (!name) return;
      if (name === "dialpad") {
        // Opening the pad is the card's own business; each key fires dialpadButtonClick.
        dialpadOpen = !dialpadOpen;
        return render();
      }
      click(name);
    });
    $("dialpad-keys").addEventListener("click", function (event) {
      if (event.target.dataset.key) click("dialpad", event.target.dataset.key);
    });
    $("stars").addEventListener("click", function (event) {
      if (event.target.dataset.rating) click("qualityMeter", event.target.dataset.rating);
    });
    $("transfer").addEventListener("submit", function (event) {
      event.preventDefault();
      var target = $("transfer-target").value || $("transfer-other").value.trim();
      if (target.indexOf("department:") === 0) {
        // As in Bitrix24: picking a department fires no transferButtonClick.
        return logLine("info", "transfer to a department picked", "no event (as in Bitrix24)");
      }
      if (!target) return notice("Pick an employee or type a number.");
      click("transfer", target);
    });
    $("comment").addEventListener("submit", function (event) {
      event.preventDefault();
      click("addComment", event.target.elements.text.value);
    });
    $("raise-form").addEventListener("submit", raiseCall);
    $("softphone-form").addEventListener("submit", softphone);
    $("softphone-form").addEventListener("click", function (event) {
      if (event.target.type === "button" && event.target.dataset.action) softphone(event);
    });
    $("fire-form").addEventListener("submit", fireEvent);
    $("rest-form").addEventListener("submit", applyRestResponses);
    $("clear-log").addEventListener("click", function () { $("log").textContent = ""; });
    $("reload-frame").addEventListener("click", loadFrame);
    $("interpreter").addEventListener("change", loadFrame);
    $("page").addEventListener("change", function () {
      var shown = page().path !== "";  // an application page is meant to be seen
      $("show-frame").checked = shown;
      $("frame-box").hidden = !shown;
      $("console-box").hidden = !shown;
      loadFrame();
    });
    $("mode").addEventListener("change", function () {
      config.mode = $("mode").value;
      if (connected) call("configure", { mode: config.mode }).catch(function () {});
    });
    $("show-frame").addEventListener("change", function () {
      $("frame-box").hidden = !$("show-frame").checked;
      $("console-box").hidden = !$("show-frame").checked;
    });
    // The card's clock display ticks from the seconds the stub last sent.
    setInterval(renderTimer, 250);
  }

  var chosen = new URLSearchParams(location.search).get("interpreter");
  if (chosen) $("interpreter").value = chosen;
  buildWidgets();
  wire();
  applyRestResponses();
  loadFrame();
})();
