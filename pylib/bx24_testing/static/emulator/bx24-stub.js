/*
 * BX24 stub: Bitrix24's JS library (https://api.bitrix24.com/api/v1/) as it behaves inside an
 * application's frame (the PAGE_BACKGROUND_WORKER worker, the install page, the main page), over
 * a simulated call card that follows docs/bitrix24.md. Tests serve this file in place of the real
 * library, so the frame under test is the production frame, unchanged.
 *
 * The portal is not simulated here: like the real library, the stub belongs to the portal named
 * by the frame's window.name ("<portal host>|<1 for https>|<APP_SID>"), asks it for its init data
 * (token, options, install mode), and sends REST to it (<portal>/rest/<method>.json). The kit's
 * portal stand-ins, the emulator's server and test routes answer from one model of Bitrix24
 * (bx24_testing/bitrix24.py). What stays here is what the real library does in the page: the
 * call card (which lives in the portal's page and is reached by postMessage), the REST quirks of
 * BX24.callMethod/callBatch, and every answer on a later task, across a JSON boundary (a JS Map
 * arrives as {} and `undefined` as []).
 *
 * window.BX24      the library the frame uses.
 * window.BX24_STUB_CONFIG, when set before this script runs, is passed to BX24Stub.configure; its
 * `portal` ("host:port"), `protocol` ("http"|"https") and `sid` stand in for window.name's.
 * In the emulator's variant of the page (`?emulator` in the frame's URL) the stub also talks to
 * the emulator page around it by postMessage, which works cross-site (see "the emulator link").
 * window.BX24Stub  the control API for tests and the emulator:
 *   configure({mode: "browser"|"desktop", domain, lang, isAdmin, memberId, placementOptions,
 *              auth: false | {expires_in: <past>} (expire the token now), restResponses:
 *              {method: response}})  domain...placementOptions override what the library says
 *   respond(method, answer | [answers in turn]) → Promise: programs the portal's REST (the
 *              model's Portal.respond: {result, total?, next?} | {error, error_description}
 *              (+ status) | {status, body} | {network: true} | {items: [...]})
 *   raiseCall(payloadOverrides, {uiState, transferred, own})   null in overrides removes a key
 *   fire(event, payload)       any event (with or without "BackgroundCallCard::"), any payload;
 *                              none for a card that is not the app's own (raiseCall own: false)
 *   click(button, arg)         a button the card shows now; throws, listing them, otherwise
 *   softphone(action, ...args) the other side of the app's softphone (window.bx24StandInSoftphone:
 *                              sip-stub.js's phone, or bx24.StandInSoftphone): ring(number,
 *                              line), pickUp(), hangUp(), fail(status, reason)
 *   card(), buttons(), commands(), events(), bindings(), restCalls() (this frame's REST: method,
 *   params as the portal decoded them, status, answer, batch), config(), initialized(), auth()
 *   (the token now), initData() (what the portal handed this frame), installFinished()
 *   applications(), closeApplication()   BX24.openApplication calls; close runs their callbacks
 *   advanceClock(ms)           moves the card's timer clock: timer tests need not wait
 *   onChange(fn(kind, entry))  kind: command|event|binding|rest|softphone|application|card|config|
 *                              init|reset
 *   reset()                    forget the card and the logs; keep bindings and config
 */
(function () {
  "use strict";

  // Every fact of the card comes from the kit's one description (bx24_testing/cardmodel.py,
  // which takes the vocabulary from the bx24 library): served before this script as
  // window.BX24_MODEL. The CPython fake's card reads the same.
  var MODEL = window.BX24_MODEL;
  if (!MODEL) throw new Error("BX24 stub: window.BX24_MODEL is missing: serve the stub with " +
    "bx24_testing.stub.stub_script() (or the emulator's bx24-model.js before it)");
  var PREFIX = MODEL.prefix;
  var UI_STATES = MODEL.uiStates;
  var COMMANDS = MODEL.commands;
  var EVENT_NAMES = MODEL.events;
  var EVENTS = EVENT_NAMES.map(function (name) { return PREFIX + name; });
  var STATE_BUTTONS = MODEL.stateButtons;   // the buttons each state shows (spec section 4)
  var BUTTON_EVENTS = MODEL.buttonEvents;   // the event each button fires
  var BUTTON_ALIASES = MODEL.buttonAliases;
  var CARD_UNDEFINED = MODEL.cardUndefined;
  var INVALID_UI_STATE = MODEL.invalidUiState;

  var DEFAULT_CONFIG = {
    mode: "browser",
    domain: null,          // null: the portal's (init data); a string overrides what BX24 says
    lang: null,
    isAdmin: null,
    memberId: null,
    placementOptions: null,
  };

  var config = null;
  var auth = null;         // {access_token, refresh_token, expires_in (ms since the epoch)} | false
  var initData = null;     // what the portal handed this frame
  var card = null;
  var callSerial = 0;
  var clockOffsetMs = 0;
  var commandLog = [];
  var eventLog = [];
  var restLog = [];
  var bindingLog = [];
  var listeners = [];
  var installFinished = false;
  var expireOnInit = null;  // configured before init: the token the frame gets is expired
  var programmed = {};      // method -> the answer this frame gave its portal (respond)

  // ---------------------------------------------------------------- small helpers

  // Milliseconds since the page started loading (the document's time origin).
  function now() { return Math.round(performance.now() * 1000) / 1000; }
  function cardClock() { return performance.now() + clockOffsetMs; }
  function isFunction(value) { return typeof value === "function"; }
  function isObject(value) { return value !== null && typeof value === "object" && !Array.isArray(value); }
  function copy(value) { return value === undefined ? undefined : JSON.parse(JSON.stringify(value)); }
  // A later task, as Bitrix24's answers and events come: by postMessage from the portal (a
  // message task, not a timer: browsers clamp timers nested 5 deep to 4 ms, messages never).
  var laterQueue = [];
  var laterChannel = new MessageChannel();
  laterChannel.port1.onmessage = function () { laterQueue.shift()(); };
  function later(fn) {
    laterQueue.push(fn);
    laterChannel.port2.postMessage(null);
  }

  function fail(message) { throw new Error("BX24 stub: " + message); }

  function fullEventName(name) {
    if (typeof name !== "string") fail("event name must be a string, got " + JSON.stringify(name));
    var full = name.indexOf(PREFIX) === 0 ? name : PREFIX + name;
    if (EVENTS.indexOf(full) < 0) {
      fail('unknown event "' + name + '"; known events: ' + EVENT_NAMES.join(", "));
    }
    return full;
  }

  // What the other side of postMessage receives: "<id>:<JSON or empty>", parsed back, [] when empty.
  function overTheWire(value) {
    var text = value ? JSON.stringify(value) : "";
    return text ? JSON.parse(text) : [];
  }

  function answerLater(callback, value) {
    var text = value === undefined ? "" : JSON.stringify(value);
    later(function () { callback.call(window, text ? JSON.parse(text) : []); });
  }

  function notify(kind, entry) {
    listeners.slice().forEach(function (listener) {
      try { listener(kind, entry); } catch (error) { console.error("BX24 stub: onChange listener failed", error); }
    });
  }

  // ---------------------------------------------------------------- the portal this frame is of

  // window.name as Bitrix24 names the frame: "<portal host>|<1 for https, 0 for http>|<APP_SID>";
  // BX24_STUB_CONFIG's portal, protocol and sid stand in for it (a page loaded top level).
  var named = String(window.name || "").split("|");
  var preset = window.BX24_STUB_CONFIG || {};
  var portal = {
    host: preset.portal || named[0] || "",
    https: preset.protocol ? preset.protocol === "https" : named[1] !== "0",
    sid: preset.sid || named[2] || "",
  };
  var realFetch = window.fetch ? window.fetch.bind(window) : null;

  function portalOrigin() { return (portal.https ? "https://" : "http://") + portal.host; }

  // One of the portal's actions for this frame (/_bx24portal/<action>): a Promise of its answer.
  // As a simple request (text/plain): no preflight, as the real library's postMessage needs none.
  function portalAction(action, data) {
    if (!portal.host) return Promise.reject(new Error("BX24 stub: this frame belongs to no portal (window.name has none, and BX24_STUB_CONFIG names none)"));
    return realFetch(portalOrigin() + "/_bx24portal/" + action, {
      method: "POST", credentials: "omit", headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify(Object.assign({ sid: portal.sid }, data || {})),
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) throw new Error("BX24 stub: the portal answered " + action + " with " + response.status + ": " + (answer.error || ""));
        return answer;
      });
    });
  }

  // Like the real library, expires_in is the expiry time in ms since the epoch (not a duration);
  // getAuth() answers false once it has passed.
  function authOf(data) {
    if (!data || !data.AUTH_ID) return false;
    return { access_token: data.AUTH_ID, refresh_token: data.REFRESH_ID,
             expires_in: Date.now() + Number(data.AUTH_EXPIRES || 0) * 1000 };
  }

  function domain() { return config.domain || (initData && initData.DOMAIN) || portal.host; }

  function configure(options) {
    options = options || {};
    if (options.mode !== undefined && options.mode !== "browser" && options.mode !== "desktop") {
      fail('mode must be "browser" or "desktop", got ' + JSON.stringify(options.mode));
    }
    var next = Object.assign({}, config || DEFAULT_CONFIG);
    ["mode", "domain", "lang", "isAdmin", "memberId", "placementOptions"].forEach(function (key) {
      if (options[key] !== undefined) next[key] = copy(options[key]);
    });
    config = next;
    var waits = [];
    if (options.auth === false) {
      auth = false;
    } else if (options.auth && options.auth.expires_in !== undefined && options.auth.expires_in <= Date.now()) {
      if (!initialized) expireOnInit = options.auth.expires_in;
      else {
        if (auth) auth.expires_in = options.auth.expires_in;  // expired here, and at the portal
        waits.push(portalAction("expire"));
      }
    } else if (options.auth && initialized && !(auth && auth.expires_in > Date.now())) {
      // a token again: a fresh one from the portal
      waits.push(portalAction("refresh").then(function (data) { initData = data; auth = authOf(data); }));
    }
    if (options.restResponses) {
      Object.keys(options.restResponses).forEach(function (method) {
        waits.push(respond(method, options.restResponses[method]));
      });
    }
    notify("config", snapshotConfig());
    return waits.length ? Promise.all(waits).then(snapshotConfig) : snapshotConfig();
  }

  function snapshotConfig() {
    var result = copy(config);
    result.portal = portal.host;
    result.restResponses = copy(programmed);  // what this frame programmed at its portal
    return result;
  }

  // ---------------------------------------------------------------- the card model

  function newTimer() { return { running: false, visible: false, accumulatedMs: 0, since: 0 }; }

  function timerSeconds(timer) {
    var ms = timer.accumulatedMs + (timer.running ? cardClock() - timer.since : 0);
    return Math.floor(ms / 1000);
  }

  function startTimer(timer) {
    if (!timer.running) { timer.running = true; timer.since = cardClock(); }
    timer.visible = true;
  }

  function stopTimer(timer) {
    if (timer.running) { timer.accumulatedMs += cardClock() - timer.since; timer.running = false; }
  }

  function resetTimer(timer) {
    timer.running = false; timer.visible = false; timer.accumulatedMs = 0; timer.since = 0;
  }

  function setUiState(state, disableAutoStartTimer) {
    card.state = state;
    if (state === "transferIncoming") card.transferred = true;
    if (state === "connected") {
      if (disableAutoStartTimer) resetTimer(card.timer);
      else startTimer(card.timer);
    } else {
      stopTimer(card.timer);
    }
  }

  function cardIsManageable() { return card !== null && !card.closed && card.own; }

  function buttonsShown() {
    if (!card || card.closed) return [];
    var buttons = (STATE_BUTTONS[card.state] || []).filter(function (button) {
      return button !== "transfer" || !(card.callListMode || card.transferred);
    });
    return buttons.concat(MODEL.always, card.callListMode ? MODEL.callList : []);
  }

  function snapshotCard() {
    if (!card) return null;
    return {
      state: card.state,
      muted: card.muted,
      held: card.held,
      title: card.title,
      statusText: card.statusText,
      timer: { running: card.timer.running, seconds: timerSeconds(card.timer), visible: card.timer.visible },
      closed: card.closed,
      active: !card.closed && card.own,
      own: card.own,
      callListMode: card.callListMode,
      transferred: card.transferred,
      buttons: buttonsShown(),
      call: copy(card.call),
    };
  }

  // ---------------------------------------------------------------- commands (spec section 3)

  function missingField(params, field) {
    return params[field] === undefined || params[field] === null;
  }

  // Returns {answer: value} or {silent: reason} (no callback at all).
  function runCommand(command, params) {
    var desktop = config.mode === "desktop";
    if (COMMANDS.indexOf(command) < 0) return { silent: "unknown command" };
    if (MODEL.withoutCard.indexOf(command) >= 0) return { answer: UI_STATES.slice() };
    if (!cardIsManageable()) return { answer: copy(CARD_UNDEFINED) };
    if (!isObject(params)) params = {};
    var required = MODEL.requiredFields[command];
    if (required && desktop && missingField(params, required[0])) {
      var error = { result: "error", errorCode: "missing field " + required[0] };
      return { answer: required[1] === "bare" ? error : [error] };
    }
    switch (command) {
      case "CallCardSetMute":
        card.muted = !!params.muted;
        break;
      case "CallCardSetHold":
        card.held = !!params.held;
        break;
      case "CallCardSetUiState":
        if (UI_STATES.indexOf(params.uiState) < 0) return { answer: copy(INVALID_UI_STATE) };
        setUiState(params.uiState, !!params.disableAutoStartTimer);
        break;
      case "CallCardSetCardTitle":
        if (!missingField(params, "title")) card.title = String(params.title);
        break;
      case "CallCardSetStatusText":
        if (!missingField(params, "statusText")) card.statusText = String(params.statusText);
        break;
      case "CallCardStartTimer":
        startTimer(card.timer);
        break;
      case "CallCardStopTimer":
        stopTimer(card.timer);
        break;
      case "CallCardClose":
        closeCard();
        break;
    }
    if (!desktop && MODEL.silentInBrowser.indexOf(command) >= 0) {
      return { silent: "browser: no callback on timer success" };
    }
    return { answer: [] };
  }

  function closeCard() {
    stopTimer(card.timer);
    card.closed = true;
  }

  function placementCall(command, params, callback) {
    if (command && BX24[command]) return; // the real library refuses names of its own functions
    if (isFunction(params)) { callback = params; params = {}; }
    var received = overTheWire(params);
    var hasCallback = isFunction(callback);
    var outcome = runCommand(String(command), received);
    var entry = {
      command: String(command),
      params: received,
      time: now(),
      callback: hasCallback,
      answered: "answer" in outcome && hasCallback,
      result: "answer" in outcome ? copy(outcome.answer) : undefined,
      silent: outcome.silent || null,
    };
    commandLog.push(entry);
    if ("answer" in outcome && hasCallback) answerLater(callback, outcome.answer);
    notify("command", entry);
  }

  // ---------------------------------------------------------------- events (spec section 5)

  function bindEvent(eventName, callback) {
    var name = String(overTheWire({ event: eventName }).event);
    var entry = { event: name, time: now(), accepted: EVENTS.indexOf(name) >= 0 };
    bindingLog.push(entry);
    // The portal binds only events of the placement's interface; a handler without a callback
    // id gets nothing either.
    if (entry.accepted && isFunction(callback)) entry.handler = callback;
    notify("binding", publicBinding(entry));
  }

  function publicBinding(entry) { return { event: entry.event, time: entry.time, accepted: entry.accepted }; }

  function deliver(fullName, payload, source) {
    var handlers = bindingLog.filter(function (b) { return b.event === fullName && b.handler; });
    var entry = {
      event: fullName,
      payload: payload === undefined ? undefined : copy(payload),
      time: now(),
      handlers: handlers.length,
      source: source,
    };
    eventLog.push(entry);
    handlers.forEach(function (binding) { answerLater(binding.handler, payload); });
    notify("event", entry);
    return entry;
  }

  // Any event with any payload, as Bitrix24 would send it: not for a card of a call this app
  // did not raise (Bitrix24 keeps those silent), and closeButtonClick closes the card.
  function fire(eventName, payload) {
    var full = fullEventName(eventName);
    if (card && !card.own) return null;
    if (full === PREFIX + "closeButtonClick" && card && !card.closed) {
      closeCard();
      notify("card", snapshotCard());
    }
    return deliver(full, payload, "fire");
  }

  // ---------------------------------------------------------------- raising a call (spec section 6)

  function hex32() {
    var text = "";
    while (text.length < 32) text += Math.floor(Math.random() * 16).toString(16);
    return text;
  }

  function defaultCall() {
    callSerial += 1;
    return {
      CALL_ID: "externalCall." + hex32() + "." + (1700000000 + callSerial),
      PHONE_NUMBER: "+1555010" + String(callSerial % 10000).padStart(4, "0"),
      LINE_NUMBER: "line1",
      LINE_NAME: "Sales line",
      CRM_ENTITY_TYPE: "CONTACT",
      CRM_ENTITY_ID: 42,
      CRM_ACTIVITY_ID: 1000 + callSerial,
      CRM_BINDINGS: [{ ENTITY_TYPE: "CONTACT", ENTITY_ID: 42 }],
      CALL_DIRECTION: "incoming",
      CALL_STATE: "idle",
      CALL_LIST_MODE: false,
    };
  }

  function initialUiState(call) {
    var incoming = call.CALL_DIRECTION === "incoming";
    if (call.CALL_STATE === "connected") return "connected";
    if (call.CALL_STATE === "connecting") return incoming ? "connectingIncoming" : "connectingOutgoing";
    return incoming ? "incoming" : "outgoing";
  }

  // overrides: initialized-payload keys; a null value removes the key (e.g. PHONE_NUMBER unknown).
  // options: {uiState, transferred, own: false (a call not raised by this app: silent card)}.
  // Returns a Promise of the initialized payload, resolved once the portal knows the call too
  // (Bitrix24 registered it before showing its card: finish, show and hide accept its CALL_ID).
  function raiseCall(overrides, options) {
    var call = showCard(overrides, options);
    if (!call.CALL_ID || !portal.host) return Promise.resolve(call);  // no portal: a card alone
    return portalAction("call", {
      CALL_ID: call.CALL_ID, PHONE_NUMBER: call.PHONE_NUMBER || "", DIRECTION: call.CALL_DIRECTION,
    }).then(function () { return call; });
  }

  function showCard(overrides, options) {
    options = options || {};
    var call = defaultCall();
    Object.keys(overrides || {}).forEach(function (key) {
      if (overrides[key] === null) delete call[key];
      else call[key] = copy(overrides[key]);
    });
    var state = options.uiState || initialUiState(call);
    if (UI_STATES.indexOf(state) < 0) {
      fail('uiState "' + state + '" is not a card state; states: ' + UI_STATES.join(", "));
    }
    card = {
      call: call,
      own: options.own !== false,
      callListMode: !!call.CALL_LIST_MODE,
      transferred: !!options.transferred,
      muted: false,
      held: false,
      title: "",
      statusText: "",
      state: state,
      timer: newTimer(),
      closed: false,
    };
    setUiState(state, false);
    notify("card", snapshotCard());
    if (card.own) deliver(PREFIX + "initialized", call, "raiseCall");
    return copy(call);
  }

  // ---------------------------------------------------------------- card buttons (spec section 4)

  function buttonName(button) {
    if (typeof button !== "string") fail("button must be a string, got " + JSON.stringify(button));
    if (BUTTON_ALIASES[button]) return BUTTON_ALIASES[button];
    for (var name in BUTTON_EVENTS) {
      if (BUTTON_EVENTS[name] === button || PREFIX + BUTTON_EVENTS[name] === button) return name;
    }
    if (!BUTTON_EVENTS[button]) {
      fail('unknown button "' + button + '"; buttons: ' + Object.keys(BUTTON_EVENTS).join(", "));
    }
    return button;
  }

  function clickPayload(button, arg) {
    switch (button) {
      case "mute":
        if (arg === undefined) return !card.muted;
        if (typeof arg !== "boolean") fail("mute click takes a boolean (wanted muted state)");
        return arg;
      case "hold":
        if (arg === undefined) return !card.held;
        if (typeof arg !== "boolean") fail("hold click takes a boolean (wanted held state)");
        return arg;
      case "transfer":
        if (arg === undefined || arg === null || arg === "") {
          fail("transfer click needs a target: an employee id (digits) or a phone number");
        }
        return { phoneNumber: card.call.PHONE_NUMBER || "", target: String(arg) };
      case "qualityMeter":
        if (MODEL.ratings.indexOf(String(arg)) < 0) fail("quality rating must be 1..5, got " + JSON.stringify(arg));
        return String(arg);
      case "dialpad":
        if (String(arg).length !== 1 || MODEL.dialpadKeys.indexOf(String(arg)) < 0) fail("dial pad key must be one of 0-9, * or #, got " + JSON.stringify(arg));
        return String(arg);
      case "addComment":
        if (typeof arg !== "string") fail("comment click takes the comment text");
        return arg;
    }
    return undefined;
  }

  function click(button, arg) {
    var name = buttonName(button);
    if (!card) fail('no call card: cannot click "' + name + '"; raise a call first (BX24Stub.raiseCall)');
    if (card.closed) fail('the call card is closed: cannot click "' + name + '"');
    var shown = buttonsShown();
    if (shown.indexOf(name) < 0) {
      fail('button "' + name + '" is not shown in state "' + card.state + '"' +
        (card.callListMode ? " (call-list mode)" : "") + (card.transferred ? " (transferred call)" : "") +
        "; shown: " + shown.join(", "));
    }
    var payload = clickPayload(name, arg);
    if (name === "close") closeCard();
    var entry = card.own ? deliver(PREFIX + BUTTON_EVENTS[name], payload, "click") : null;
    notify("card", snapshotCard());
    return entry;
  }

  // ---------------------------------------------------------------- REST: to the portal
  //
  // The frame's own requests (the bx24 bridge fetches <domain>/rest/<method>.json) and the
  // library's go to the portal as they are; the stub only watches them: what this frame sent and
  // got (restCalls), and what Bitrix24 does in the page after an answer (afterRest).

  // PHP-style decoding of a form body (what the portal reads): a[b][0]=x -> {a: {b: {"0": "x"}}}.
  function decodeForm(body) {
    var out = {};
    String(body || "").split("&").forEach(function (pair) {
      if (!pair) return;
      var eq = pair.indexOf("=");
      var name = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, " "));
      var value = eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
      var path = name.match(/^[^\[]+|\[[^\]]*\]/g) || [name];
      var node = out;
      path.forEach(function (part, index) {
        var key = part.charAt(0) === "[" ? part.slice(1, -1) : part;
        if (key === "" && index > 0) key = String(Object.keys(node).length);
        if (index === path.length - 1) node[key] = value;
        else node = node[key] = isObject(node[key]) ? node[key] : {};
      });
    });
    return out;
  }

  // What the real library sends for params (its prepareData): nested objects and arrays as
  // name[key], true/false as "true"/"false", null, undefined and {} left out, [] as "name=".
  function encodeForm(value, prefix) {
    var parts = [];
    Object.keys(value || {}).forEach(function (key) {
      var name = prefix ? prefix + "[" + encodeURIComponent(key) + "]" : encodeURIComponent(key);
      var item = value[key];
      if (item === null || item === undefined) return;
      if (Array.isArray(item) && item.length === 0) parts.push(name + "=");
      else if (typeof item === "object") {
        var inner = encodeForm(item, name);
        if (inner) parts.push(inner);
      } else parts.push(name + "=" + encodeURIComponent(String(item)));
    });
    return parts.join("&");
  }

  function parseOr(text) {
    try { return JSON.parse(text); } catch (error) { return text === "" ? null : { body: String(text).slice(0, 300) }; }
  }

  function isRestUrl(url) {
    var match = String(url).match(/^https?:\/\/([^\/]+)\/rest\/(.+)\.json(\?|$)/);
    return match && match[1] === domain() ? decodeURIComponent(match[2]) : null;
  }

  // One REST request as the portal receives it, recorded, and the page's reaction: a Promise of
  // {status, text} (or a rejection: no answer at all).
  function restRequest(method, url, init) {
    var body = init && init.body !== undefined ? String(init.body) : "";
    var params = decodeForm(body);
    delete params.auth;
    var entry = { method: String(method), params: params, time: now(), batch: false,
                  status: null, answer: null };
    return realFetch(url, init).then(function (response) {
      // the emulator's server cannot drop a connection: it marks a programmed network failure
      if (response.headers.get("X-Bx24-Network-Failure")) throw new TypeError("Failed to fetch");
      return response.clone().text().then(function (text) {
        entry.status = response.status;
        entry.answer = parseOr(text);
        record(entry);
        return response;
      });
    }, function (error) {
      entry.answer = { network: true };
      record(entry);
      throw error;
    });
  }

  function record(entry) {
    if (String(entry.method).toLowerCase() === "batch") {
      var commands = entry.params.cmd || {};
      var answer = entry.answer && entry.answer.result || {};
      Object.keys(commands).forEach(function (key) {
        var command = String(commands[key]);
        var q = command.indexOf("?");
        var inner = answerOf(answer, key);
        restLog.push({ method: q < 0 ? command : command.slice(0, q), params: decodeForm(q < 0 ? "" : command.slice(q + 1)),
                       time: entry.time, batch: true, status: entry.status, answer: inner });
        afterRest(restLog[restLog.length - 1]);
      });
    } else {
      restLog.push(entry);
      afterRest(entry);
    }
    notify("rest", entry);
  }

  // One call's part of a batch answer (its parts are lists for keys 0..n-1, as PHP sends them).
  function answerOf(answer, key) {
    function part(name) { var p = answer[name]; return p && p[key] !== undefined ? p[key] : undefined; }
    if (part("result_error") !== undefined) return part("result_error");
    if (part("result") === undefined) return null;
    return { result: part("result"), total: part("result_total"), next: part("result_next") };
  }

  // After a successful register with SHOW (the default), Bitrix24 opens the operator's card
  // for it and fires initialized with its CALL_ID; hide closes it.
  function afterRest(entry) {
    var name = String(entry.method).toLowerCase();
    var answer = entry.answer;
    var params = entry.params;
    if (!answer || answer.error !== undefined || !(entry.status >= 200 && entry.status < 300)) return;
    if (name === "telephony.externalcall.register" && !/^(0|false|N)$/i.test(String(params.SHOW))) {
      var type = parseInt(params.TYPE, 10);
      var result = answer.result || {};
      later(function () {
        showCard({
          CALL_ID: result.CALL_ID, PHONE_NUMBER: params.PHONE_NUMBER,
          LINE_NUMBER: params.LINE_NUMBER || "", LINE_NAME: "",
          CALL_DIRECTION: type === 1 ? "outgoing" : type === 4 ? "callback" : "incoming",
          CALL_STATE: "idle", CRM_ENTITY_TYPE: result.CRM_ENTITY_TYPE || "",
          CRM_ENTITY_ID: result.CRM_ENTITY_ID || 0, CRM_ACTIVITY_ID: null,
          CRM_BINDINGS: result.CRM_ENTITY_TYPE ? [{ ENTITY_TYPE: result.CRM_ENTITY_TYPE, ENTITY_ID: result.CRM_ENTITY_ID }] : [],
        }, {});
      });
    }
    if (name === "telephony.externalcall.hide" && card && card.call.CALL_ID === params.CALL_ID) {
      closeCard();
      notify("card", snapshotCard());
    }
  }

  // The frame's own requests (the bx24 bridge uses fetch): only <domain>/rest/... is watched,
  // anything else goes out untouched.
  window.fetch = function (input, init) {
    var url = String(input && input.url || input);
    var method = isRestUrl(url);
    if (method === null) return realFetch(input, init);
    return restRequest(method, url, init);
  };

  // ---------------------------------------------------------------- REST: BX24.callMethod, callBatch
  //
  // What the real library does (docs/bitrix24.md, "REST through the real library"): it deletes
  // a truthy `start` from your params (page N only through result.next), form-encodes the rest,
  // refreshes an expired token and retries by itself, calls back with a result object for HTTP
  // 2xx and 4xx JSON answers, and for an HTTP 5xx, a body that is not JSON or a network failure
  // never calls back: it throws "Query error!" from its request handler.

  function AjaxError(status, ex) { this.status = status; this.ex = ex; }
  AjaxError.prototype.getError = function () { return this.ex; };
  AjaxError.prototype.getStatus = function () { return this.status; };
  AjaxError.prototype.toString = function () {
    return this.ex.error + (this.ex.error_description ? ": " + this.ex.error_description : "") +
      " (" + this.status + ")";
  };

  // The library's ajaxResult: same fields and methods as the real one.
  function AjaxResult(answer, query, status) {
    this.answer = answer;
    this.query = query;
    this.status = status;
    if (this.answer.next !== undefined) this.answer.next = parseInt(this.answer.next, 10);
    if (this.answer.error !== undefined) {
      this.answer.ex = new AjaxError(status, typeof this.answer.error === "string" ? this.answer : this.answer.error);
    }
  }
  AjaxResult.prototype.data = function () { return this.answer.result; };
  AjaxResult.prototype.error = function () { return this.answer.ex; };
  AjaxResult.prototype.error_description = function () { return this.answer.error_description; };
  AjaxResult.prototype.more = function () { return !isNaN(this.answer.next); };
  AjaxResult.prototype.total = function () { return parseInt(this.answer.total, 10); };
  AjaxResult.prototype.time = function () { return this.answer.time; };
  AjaxResult.prototype.next = function (callback) {
    if (!this.more()) return false;
    var query = Object.assign({}, this.query, { start: this.answer.next });
    if (isFunction(callback)) query.callback = callback;
    libraryRequest(query);
  };

  // A programmed response, given to the portal (bx24_testing/bitrix24.py, Portal.respond): an
  // answer as Bitrix24's REST sends it, or a list given out in turn (the last one repeats).
  // Checked here first, so that a mistake throws where it is made. A Promise.
  function respond(method, response) {
    if (typeof method !== "string" || !method) fail("respond() needs a REST method name");
    var answers = Array.isArray(response) ? response : [response];
    answers.forEach(function (answer) {
      if (!isObject(answer) || !("result" in answer || "error" in answer || "body" in answer ||
          "network" in answer || "items" in answer)) {
        fail('response for "' + method + '" must be {result: ...}, {error: ..., error_description: ...}, ' +
          "{status, body}, {network: true} or {items: [...]}, got " + JSON.stringify(answer));
      }
    });
    programmed[method.toLowerCase()] = copy(response);
    return portalAction("respond", { method: method, answer: copy(response) }).then(function () {
      notify("config", snapshotConfig());
    });
  }

  function whenInitialized(fn) { if (initialized) later(fn); else initQueue.push(fn); }

  // query: {method, data, start, callback}: one request as the library sends it.
  function libraryRequest(query) {
    whenInitialized(function () {
      if (auth !== false && !(auth.expires_in > Date.now())) {
        return BX24.refreshAuth(function () { libraryRequest(query); });
      }
      var body = "auth=" + encodeURIComponent(auth ? auth.access_token : "") +
        (query.start !== undefined ? "&start=" + parseInt(query.start, 10) : "");
      var params = encodeForm(query.data);
      if (params) body += "&" + params;
      var url = (portal.https ? "https://" : "http://") + domain() + "/rest/" +
        encodeURIComponent(query.method) + ".json";
      restRequest(query.method, url, {
        method: "POST", body: body, credentials: "omit",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }).then(function (response) {
        return response.text().then(function (text) { return { status: response.status, text: text }; });
      }, function () { return null; }).then(function (reply) {
        // a 2xx with an empty body is success with no data; a body that is not JSON is not
        var answer = reply === null ? null : reply.text === "" && reply.status < 300 ? {}
          : (function () { try { return JSON.parse(reply.text); } catch (e) { return null; } })();
        var success = answer !== null && typeof answer === "object" && reply.status >= 200 &&
          reply.status < 500;
        if (!success) {
          later(function () { throw "Query error!"; });  // uncaught, as the library's own
          return;
        }
        if (answer.error === "expired_token") {
          return BX24.refreshAuth(function () { libraryRequest(query); });
        }
        if (isFunction(query.callback)) {
          query.callback.call(window, new AjaxResult(answer, query, reply.status));
        }
      });
    });
  }

  function callMethod(method, params, callback) {
    var data = overTheWire(params);
    if (isObject(data) && data.start) delete data.start;  // page N only through result.next
    libraryRequest({ method: method, data: data, callback: callback });
  }

  function callBatch(calls, callback, haltOnError) {
    var list = Array.isArray(calls);
    var keys = Object.keys(calls || {});
    var commands = {};
    keys.forEach(function (key) {
      var call = calls[key];
      var method = Array.isArray(call) ? call[0] : call && call.method;
      var params = Array.isArray(call) ? call[1] : call && call.params;
      if (method) commands[key] = method + "?" + encodeForm(overTheWire(params));
    });
    if (Object.keys(commands).length === 0) return;
    libraryRequest({
      method: "batch", data: { halt: haltOnError ? 1 : 0, cmd: commands },
      callback: function (result) {
        if (!isFunction(callback)) return;
        var data = result.data() || {};
        var out = list ? [] : {};
        Object.keys(commands).forEach(function (key) {
          // each part: a list for keys 0..n-1 (PHP's arrays), an object otherwise
          var errors = data.result_error || {};
          var results = data.result || {};
          if (!(key in results) && !(key in errors)) return;
          out[key] = new AjaxResult({
            result: key in results ? results[key] : {},
            error: errors[key],
            total: (data.result_total || {})[key],
            next: (data.result_next || {})[key],
          }, { method: commands[key].split("?")[0], data: decodeForm(commands[key].split("?")[1]), callback: callback }, result.status);
        });
        callback.call(window, out);
      },
    });
  }

  // ---------------------------------------------------------------- openApplication

  // The portal opens the application's page in a slider; the callback runs when it is closed.
  var applicationLog = [];
  var openApplications = [];

  function openApplication(params, callback) {
    if (isFunction(params)) { callback = params; params = {}; }
    var entry = { params: overTheWire(params), time: now() };
    applicationLog.push(entry);
    if (isFunction(callback)) openApplications.push(callback);
    notify("application", entry);
  }

  function closeApplication() {
    openApplications.splice(0).forEach(function (callback) { answerLater(callback, undefined); });
  }

  // ---------------------------------------------------------------- lifecycle: ready and init

  var ready = false;
  var readyQueue = [];
  var initialized = false;
  var initQueue = [];

  function onReady(fn) {
    if (!isFunction(fn)) return;
    if (ready) later(function () { fn.call(document); });
    else readyQueue.push(fn);
  }

  function onInit(fn) {
    if (!fn) return;
    if (initialized) later(function () { fn.call(document); });
    else initQueue.push(fn);
  }

  function domReady() {
    ready = true;
    readyQueue.splice(0).forEach(onReady);
    // The real library asks the portal for its init data (getInitData) and runs the init
    // callbacks when the answer arrives.
    askInitData().then(function (data) {
      initData = data;
      if (auth !== false) auth = authOf(data);
      if (expireOnInit !== null && auth) {
        auth.expires_in = expireOnInit;
        return portalAction("expire");
      }
    }, function (error) {
      console.error(String(error.message || error) + ": the frame has no portal data (no token, no options)");
      initData = {};
      auth = false;
    }).then(function () {
      initialized = true;
      initQueue.splice(0).forEach(onInit);
      notify("init", null);
    });
  }

  // The portal's page answers getInitData by postMessage, as it does for the real library (the
  // kit's stand-in pages and the emulator have it for each of their frames): no round trip to
  // a server. A page without a portal page around it asks the portal over HTTP.
  var INIT_WAIT_MS = 1000;

  function askInitData() {
    if (window.parent === window) return portalAction("init");
    return new Promise(function (resolve) {
      var timer = setTimeout(function () {
        removeEventListener("message", answered);
        resolve(portalAction("init"));
      }, INIT_WAIT_MS);
      function answered(event) {
        var data = event.data;
        if (event.source !== window.parent || !data || data.bx24Portal !== "initData" ||
            data.sid !== portal.sid) return;
        clearTimeout(timer);
        removeEventListener("message", answered);
        resolve(data.data);
      }
      addEventListener("message", answered);
      window.parent.postMessage({ bx24Stub: "getInitData", sid: portal.sid }, "*");
    });
  }

  function userOptions() { return initData && initData.USER_OPTIONS || {}; }
  function appOptions() { return initData && initData.APP_OPTIONS || {}; }

  function placementInfo() {
    if (!initialized) return { placement: null, options: null };
    return {
      placement: initData.PLACEMENT || "PAGE_BACKGROUND_WORKER",
      options: copy(config.placementOptions || initData.PLACEMENT_OPTIONS || {}),
    };
  }

  // ---------------------------------------------------------------- window.BX24

  var BX24 = {
    ready: onReady,
    isReady: function () { return ready; },
    init: onInit,
    install: function () {},
    // The install step's end (an administrator's, once): the portal marks the application
    // installed and reloads the page into the main page. Elsewhere the real library's is a no-op.
    installFinish: function () {
      if (!initialized || !initData.INSTALL || installFinished) return;
      installFinished = true;
      portalAction("install-finish").then(function () {
        notify("install", null);
        if (window.parent !== window) window.parent.postMessage({ bx24Portal: "installFinished" }, "*");
      }, function (error) { console.error(String(error)); });
    },
    isAdmin: function () {
      if (!initialized) return false;
      return config.isAdmin !== null ? !!config.isAdmin : !!initData.IS_ADMIN;
    },
    getLang: function () { return config.lang || (initData && initData.LANG) || "en"; },
    getDomain: domain,
    getAuth: function () {
      if (!initialized || auth === false || !(auth.expires_in > Date.now())) return false;
      return {
        access_token: auth.access_token,
        refresh_token: auth.refresh_token,
        expires_in: auth.expires_in,
        domain: domain(),
        member_id: config.memberId || initData.MEMBER_ID,
      };
    },
    refreshAuth: function (callback) {
      if (!initialized) return;
      var done = function () { if (isFunction(callback)) callback(BX24.getAuth()); };
      if (auth === false) { later(done); return; }
      portalAction("refresh").then(function (data) { auth = authOf(data); initData = data; }, function () {})
        .then(function () { later(done); });
    },
    callMethod: callMethod,
    callBatch: callBatch,
    openApplication: openApplication,
    userOption: {
      get: function (name) { return userOptions()[name]; },
      set: function (name, value, callback) {
        if (initData) initData.USER_OPTIONS = Object.assign({}, userOptions(), { [name]: String(value) });
        portalAction("user-option", { name: String(name), value: String(value) })
          .then(function () { if (isFunction(callback)) callback(); }, function () {});
      },
    },
    appOption: {
      get: function (name) { return appOptions()[name]; },
      set: function (name, value, callback) {
        if (!BX24.isAdmin()) return;
        if (initData) initData.APP_OPTIONS = Object.assign({}, appOptions(), { [name]: String(value) });
        portalAction("app-option", { name: String(name), value: String(value) })
          .then(function () { if (isFunction(callback)) callback(); }, function () {});
      },
    },
    placement: {
      info: placementInfo,
      getInterface: function (callback) {
        if (isFunction(callback)) answerLater(callback, { command: COMMANDS.slice(), event: EVENTS.slice() });
      },
      call: placementCall,
      bindEvent: bindEvent,
    },
  };

  // ---------------------------------------------------------------- window.BX24Stub

  var BX24Stub = {
    UI_STATES: UI_STATES.slice(),
    COMMANDS: COMMANDS.slice(),
    EVENTS: EVENTS.slice(),
    STATE_BUTTONS: copy(STATE_BUTTONS),
    BUTTON_EVENTS: copy(BUTTON_EVENTS),
    MODEL: copy(MODEL),
    configure: configure,
    config: snapshotConfig,
    respond: respond,
    raiseCall: raiseCall,
    fire: fire,
    click: click,
    card: snapshotCard,
    buttons: buttonsShown,
    // The other side of the app's softphone (window.bx24StandInSoftphone: the SIP stand-in's
    // phone, sip-stub.js, or bx24.StandInSoftphone): ring(number, line), pickUp(), hangUp(),
    // fail(status, reason); a SIP phone's link: refuseRegistration(cause, code),
    // dropLink(network), registerAgain().
    softphone: function (action) {
      var phone = window.bx24StandInSoftphone;
      if (!phone) fail("the frame has no stand-in softphone (bx24.sip_softphone with the SIP stand-in, or bx24.StandInSoftphone; a SIP phone starts a moment after the frame)");
      var actions = ["ring", "pickUp", "hangUp", "fail", "refuseRegistration", "dropLink",
                     "registerAgain"];
      if (actions.indexOf(action) < 0 || !isFunction(phone[action])) {
        fail('unknown softphone action "' + action + '"; actions: ' + actions.join(", ") +
             " (the link's three: a SIP softphone's only)");
      }
      phone[action].apply(null, Array.prototype.slice.call(arguments, 1));
      notify("softphone", { action: action, args: Array.prototype.slice.call(arguments, 1) });
    },
    advanceClock: function (ms) {
      if (typeof ms !== "number" || !(ms >= 0)) fail("advanceClock takes milliseconds >= 0");
      clockOffsetMs += ms;
      notify("card", snapshotCard());
    },
    commands: function () { return copy(commandLog) || []; },
    events: function () { return copy(eventLog) || []; },
    bindings: function () { return bindingLog.map(publicBinding); },
    restCalls: function () { return copy(restLog) || []; },
    auth: function () { return copy(auth); },
    initData: function () { return copy(initData); },
    portal: function () { return copy(portal); },
    installFinished: function () { return installFinished; },
    applications: function () { return copy(applicationLog) || []; },
    closeApplication: closeApplication,
    initialized: function () { return initialized; },
    onChange: function (listener) {
      if (!isFunction(listener)) fail("onChange takes a function");
      listeners.push(listener);
      return function () { listeners = listeners.filter(function (l) { return l !== listener; }); };
    },
    // Forget the card and the recorded commands, events and REST calls; keep the frame's
    // bindings and the configuration (the portal keeps its own state: reset it there). Lets
    // one page serve many tests.
    reset: function () {
      card = null;
      clockOffsetMs = 0;
      commandLog = [];
      eventLog = [];
      restLog = [];
      applicationLog = [];
      openApplications = [];
      notify("reset", null);
    },
  };

  // ---------------------------------------------------------------- the emulator link
  //
  // The emulator page embeds the frame, as a portal does, from another site: it cannot reach
  // into the frame's window, so they talk by postMessage. To the emulator (window.parent):
  //   {bx24Stub: "change", kind, entry, card}   every onChange, with the card as it is now
  //   {bx24Stub: "console", level, text}        what the frame writes to its console, its errors
  //   {bx24Stub: "signal", value, python}       <html data-bx24> (ready | error) and
  //                                             data-bx24-python (ready | none | booting | error)
  //   {bx24Stub: "reply", id, result | error}   the answer to a call
  // From it: {bx24Emulator: "call", id, method, args}: BX24Stub[method](...args).
  // Only in the emulator's variant of the page (?emulator), and only messages from the parent.

  function emulatorLink() {
    if (window.parent === window || !/[?&]emulator(=|&|$)/.test(location.search)) return;
    var parent = window.parent;
    function post(message) {
      message.bx24Stub = message.bx24Stub || "change";
      try { parent.postMessage(JSON.parse(JSON.stringify(message)), "*"); } catch (error) { /* a cycle */ }
    }
    BX24Stub.onChange(function (kind, entry) {
      post({ bx24Stub: "change", kind: kind, entry: entry, card: snapshotCard() });
    });
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (event.source !== parent || !data || data.bx24Emulator !== "call") return;
      var reply = { bx24Stub: "reply", id: data.id };
      Promise.resolve().then(function () {
        if (!isFunction(BX24Stub[data.method])) fail("no method " + data.method);
        return BX24Stub[data.method].apply(null, data.args || []);
      }).then(function (result) {
        reply.result = result;
      }, function (error) {
        reply.error = String(error.message || error);
      }).then(function () { post(reply); });
    });
    ["log", "info", "warn", "error", "debug"].forEach(function (level) {
      var original = console[level];
      console[level] = function () {
        post({ bx24Stub: "console", level: level, text: Array.prototype.map.call(arguments, describe).join(" ") });
        return original.apply(console, arguments);
      };
    });
    window.addEventListener("error", function (event) {
      post({ bx24Stub: "console", level: "error",
        text: "uncaught: " + (event.error && event.error.stack || event.message) });
    });
    window.addEventListener("unhandledrejection", function (event) {
      post({ bx24Stub: "console", level: "error", text: "unhandled rejection: " + describe(event.reason) });
    });
    var root = document.documentElement;
    new MutationObserver(function () {
      post({ bx24Stub: "signal", value: root.dataset.bx24 || "", python: root.dataset.bx24Python || "" });
    }).observe(root, { attributes: true, attributeFilter: ["data-bx24", "data-bx24-python"] });
    post({ bx24Stub: "change", kind: "hello", entry: copy(MODEL), card: snapshotCard() });
  }

  function describe(value) {
    if (typeof value === "string") return value;
    if (value && typeof value.message === "string") return value.stack || value.name + ": " + value.message;
    try { return JSON.stringify(value); } catch (e) { return String(value); }
  }

  configure(Object.assign({}, window.BX24_STUB_CONFIG));
  window.BX24 = BX24;
  window.BX24Stub = BX24Stub;
  emulatorLink();

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", domReady, { once: true });
  } else {
    later(domReady);
  }
})();
