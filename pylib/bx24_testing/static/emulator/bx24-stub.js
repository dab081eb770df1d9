/*
 * BX24 stub: Bitrix24's JS library (https://api.bitrix24.com/api/v1/) as it behaves inside a
 * PAGE_BACKGROUND_WORKER frame, over a simulated call card that follows
 * docs/bitrix24.md. Tests serve this file in place of the real library, so the
 * frame under test is the production frame, unchanged.
 *
 * It models the wire, not just the API: every argument crosses a JSON boundary (as over
 * postMessage, so a JS Map arrives as {} and `undefined` arrives as []), and every answer comes
 * on a later task. The card answers like Bitrix24 does, errors included.
 *
 * window.BX24      the library the frame uses.
 * window.BX24_STUB_CONFIG, when set before this script runs, is passed to BX24Stub.configure.
 * In the emulator's variant of the page (`?emulator` in the frame's URL) the stub also talks to
 * the emulator page around it by postMessage, which works cross-site (see "the emulator link").
 * window.BX24Stub  the control API for tests and the emulator:
 *   configure({mode: "browser"|"desktop", domain, lang, isAdmin, memberId, placementOptions,
 *              auth: {...token overrides} | false, restResponses: {method: response},
 *              user: user.current's answer, userOptions: what user.option.get reads})
 *   respond(method, answer | [answers in turn]): {result, total?, next?} | {error,
 *              error_description} (+ status) | {status, body} | {network: true} | {items: [...]}
 *              (the REST server section says more; telephony, user.current and user.option.*
 *              answer unasked)
 *   raiseCall(payloadOverrides, {uiState, transferred, own})   null in overrides removes a key
 *   fire(event, payload)       any event (with or without "BackgroundCallCard::"), any payload;
 *                              none for a card that is not the app's own (raiseCall own: false)
 *   click(button, arg)         a button the card shows now; throws, listing them, otherwise
 *   softphone(action, ...args) the other side of the app's softphone (window.bx24StandInSoftphone:
 *                              sip-stub.js's phone, or bx24.StandInSoftphone): ring(number,
 *                              line), pickUp(), hangUp(), fail(status, reason)
 *   card(), buttons(), commands(), events(), bindings(), restCalls(), config(), initialized(),
 *   auth() (the token the portal's REST takes now, expired or not)
 *   applications(), closeApplication()   BX24.openApplication calls; close runs their callbacks
 *   advanceClock(ms)           moves the card's timer clock: timer tests need not wait
 *   onChange(fn(kind, entry))  kind: command|event|binding|rest|softphone|application|card|config|
 *                              init|reset
 *   reset()                    forget card, logs and REST responses; keep bindings and config
 */
(function () {
  "use strict";

  var PREFIX = "BackgroundCallCard::";

  var UI_STATES = [
    "incoming", "transferIncoming", "outgoing", "connectingIncoming", "connectingOutgoing",
    "connected", "transferring", "transferFailed", "transferConnected", "error", "moneyError",
    "redial",
  ];

  var COMMANDS = [
    "CallCardSetMute", "CallCardSetHold", "CallCardSetUiState", "CallCardGetListUiStates",
    "CallCardSetCardTitle", "CallCardSetStatusText", "CallCardStartTimer", "CallCardStopTimer",
    "CallCardClose",
  ];

  var EVENT_NAMES = [
    "initialized", "entityChanged", "addCommentButtonClick", "muteButtonClick",
    "holdButtonClick", "transferButtonClick", "qualityMeterClick", "dialpadButtonClick",
    "closeButtonClick", "cancelTransferButtonClick", "completeTransferButtonClick",
    "hangupButtonClick", "nextButtonClick", "skipButtonClick", "answerButtonClick",
    "makeCallButtonClick", "notifyAdminButtonClick",
  ];
  var EVENTS = EVENT_NAMES.map(function (name) { return PREFIX + name; });

  // Spec section 4: the buttons each state shows, named after the event they fire.
  var STATE_BUTTONS = {
    incoming: ["answer", "skip"],
    transferIncoming: ["answer", "skip"],
    outgoing: ["makeCall"],
    connectingIncoming: ["hangup"],
    connectingOutgoing: ["hangup"],
    connected: ["hangup", "hold", "mute", "transfer", "dialpad", "qualityMeter"],
    transferring: ["completeTransfer", "cancelTransfer"],
    transferFailed: ["cancelTransfer"],
    transferConnected: ["hangup"],
    error: ["close"],
    moneyError: ["notifyAdmin", "close"],
    redial: ["makeCall"],
  };

  var BUTTON_EVENTS = {
    answer: "answerButtonClick", skip: "skipButtonClick", makeCall: "makeCallButtonClick",
    hangup: "hangupButtonClick", hold: "holdButtonClick", mute: "muteButtonClick",
    transfer: "transferButtonClick", dialpad: "dialpadButtonClick",
    qualityMeter: "qualityMeterClick", completeTransfer: "completeTransferButtonClick",
    cancelTransfer: "cancelTransferButtonClick", close: "closeButtonClick",
    notifyAdmin: "notifyAdminButtonClick", addComment: "addCommentButtonClick",
    next: "nextButtonClick",
  };
  var BUTTON_ALIASES = { comment: "addComment", quality: "qualityMeter", call: "makeCall" };

  var CARD_UNDEFINED = [{ result: "error", errorCode: "Call card is undefined" }];
  var INVALID_UI_STATE = [{ result: "error", errorCode: "Invalid ui state" }];

  var DEFAULT_CONFIG = {
    mode: "browser",
    domain: "example.bitrix24.com",
    lang: "en",
    isAdmin: false,
    memberId: "0123456789abcdef0123456789abcdef",
    auth: {},
    placementOptions: { ID: "PAGE_BACKGROUND_WORKER", URI: "/crm/deal/" },
    user: { ID: "1", NAME: "Operator", LAST_NAME: "Stub", ACTIVE: true, UF_PHONE_INNER: "101" },
    userOptions: {},
  };

  var config = null;
  var restResponses = {};
  var authSerial = 0;
  var auth = null;
  var card = null;
  var callSerial = 0;
  var clockOffsetMs = 0;
  var commandLog = [];
  var eventLog = [];
  var restLog = [];
  var bindingLog = [];
  var listeners = [];

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

  // ---------------------------------------------------------------- configuration

  // Like the real library, expires_in is the expiry time in ms since the epoch (not a duration);
  // getAuth() answers false once it has passed.
  function makeAuth(overrides) {
    authSerial += 1;
    var base = {
      access_token: "stub-access-token-" + authSerial,
      refresh_token: "stub-refresh-token-" + authSerial,
      expires_in: Date.now() + 3600 * 1000,
    };
    return Object.assign(base, overrides || {});
  }

  function configure(options) {
    options = options || {};
    if (options.mode !== undefined && options.mode !== "browser" && options.mode !== "desktop") {
      fail('mode must be "browser" or "desktop", got ' + JSON.stringify(options.mode));
    }
    var next = Object.assign({}, config || DEFAULT_CONFIG);
    ["mode", "domain", "lang", "isAdmin", "memberId", "placementOptions", "user",
      "userOptions"].forEach(function (key) {
      if (options[key] !== undefined) next[key] = copy(options[key]);
    });
    if (options.auth !== undefined) {
      next.auth = options.auth === false ? false : copy(options.auth);
      auth = next.auth === false ? false : makeAuth(next.auth);
    } else if (auth === null) {
      auth = next.auth === false ? false : makeAuth(next.auth);
    }
    config = next;
    if (options.restResponses) {
      Object.keys(options.restResponses).forEach(function (method) {
        respond(method, options.restResponses[method]);
      });
    }
    notify("config", snapshotConfig());
    return snapshotConfig();
  }

  function snapshotConfig() {
    var result = copy(config);
    result.restResponses = copy(restResponses);
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
    buttons.push("addComment");
    if (card.callListMode) buttons.push("next");
    return buttons;
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
    if (command === "CallCardGetListUiStates") return { answer: UI_STATES.slice() };
    if (!cardIsManageable()) return { answer: CARD_UNDEFINED };
    if (!isObject(params)) params = {};

    switch (command) {
      case "CallCardSetMute":
        if (desktop && missingField(params, "muted")) {
          return { answer: { result: "error", errorCode: "missing field muted" } };
        }
        card.muted = !!params.muted;
        return { answer: [] };
      case "CallCardSetHold":
        if (desktop && missingField(params, "held")) {
          return { answer: [{ result: "error", errorCode: "missing field held" }] };
        }
        card.held = !!params.held;
        return { answer: [] };
      case "CallCardSetUiState":
        if (UI_STATES.indexOf(params.uiState) < 0) return { answer: INVALID_UI_STATE };
        setUiState(params.uiState, !!params.disableAutoStartTimer);
        return { answer: [] };
      case "CallCardSetCardTitle":
        if (desktop && missingField(params, "title")) {
          return { answer: [{ result: "error", errorCode: "missing field title" }] };
        }
        if (!missingField(params, "title")) card.title = String(params.title);
        return { answer: [] };
      case "CallCardSetStatusText":
        if (desktop && missingField(params, "statusText")) {
          return { answer: [{ result: "error", errorCode: "missing field statusText" }] };
        }
        if (!missingField(params, "statusText")) card.statusText = String(params.statusText);
        return { answer: [] };
      case "CallCardStartTimer":
        startTimer(card.timer);
        return desktop ? { answer: [] } : { silent: "browser: no callback on timer success" };
      case "CallCardStopTimer":
        stopTimer(card.timer);
        return desktop ? { answer: [] } : { silent: "browser: no callback on timer success" };
      case "CallCardClose":
        closeCard();
        return { answer: [] };
    }
    return { silent: "unknown command" };
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
  function raiseCall(overrides, options) {
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
    // Bitrix24 knows every call it shows a card for (click-to-call registers it first), so
    // finish, show and hide accept this CALL_ID.
    if (call.CALL_ID && !externalCalls[call.CALL_ID]) {
      externalCalls[call.CALL_ID] = { params: {}, finished: false };
    }
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
        if (["1", "2", "3", "4", "5"].indexOf(String(arg)) < 0) fail("quality rating must be 1..5, got " + JSON.stringify(arg));
        return String(arg);
      case "dialpad":
        if (!/^[0-9*#]$/.test(String(arg))) fail("dial pad key must be one of 0-9, * or #, got " + JSON.stringify(arg));
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

  // ---------------------------------------------------------------- REST: the portal's server
  //
  // Bitrix24's REST answers POST <domain>/rest/<method>.json with a form-encoded body (auth=
  // and the params, PHP-style). This is that server, in the page: the frame's own requests
  // reach it through window.fetch (wrapped below for that URL only), and BX24.callMethod and
  // callBatch (the library, further below) send it what the real library sends.
  //
  // A programmed answer (respond) is one of: {result, total?, next?} (HTTP 200),
  // {error, error_description} (HTTP 400), either with {status} to choose the HTTP status
  // (503 QUERY_LIMIT_EXCEEDED, 401 expired_token...), {status, body} (a body that is not JSON:
  // a proxy's HTML page), {network: true} (no answer at all: a network failure),
  // {items: [...]} (a list method paged by `start`, 50 items a page, with total and next).
  // Telephony methods, user.current and user.option.* answer as Bitrix24 does without being
  // programmed.

  var PAGE_SIZE = 50;
  var externalCalls = {};   // CALL_ID -> {params, finished}
  var registrations = {};   // dedup key -> CALL_ID (Bitrix24 returns the same within 30 minutes)

  // PHP-style decoding of a form body: a[b][0]=x -> {a: {b: {"0": "x"}}} (every value a string).
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

  // A JS-side list ([] or {"0": ...}) decoded from a form: its values in order.
  function listOf(value) {
    if (Array.isArray(value)) return value;
    return isObject(value) ? Object.keys(value).map(function (k) { return value[k]; }) : [];
  }

  function jsonAnswer(status, answer) {
    return { status: status, text: JSON.stringify(answer) };
  }

  function coreError(description) {
    return jsonAnswer(400, { error: "ERROR_CORE", error_description: description });
  }

  function telephonyRegister(params) {
    if (!params.USER_ID && !params.USER_PHONE_INNER) return coreError("USER_ID or USER_PHONE_INNER should be set");
    if (!params.PHONE_NUMBER) return coreError("PHONE_NUMBER should be set");
    var type = parseInt(params.TYPE, 10);
    if (!(type >= 1 && type <= 5)) return coreError("Unknown TYPE");
    var key = [params.PHONE_NUMBER, type, params.USER_ID || params.USER_PHONE_INNER,
      params.LINE_NUMBER || "", params.EXTERNAL_CALL_ID || ""].join("|");
    var callId = registrations[key] || "externalCall." + hex32() + "." + Math.floor(Date.now() / 1000);
    registrations[key] = callId;
    externalCalls[callId] = externalCalls[callId] || { params: params, finished: false };
    return jsonAnswer(200, { result: {
      CALL_ID: callId, CRM_CREATED_LEAD: null, CRM_CREATED_ENTITIES: [],
      CRM_ENTITY_TYPE: params.CRM_ENTITY_TYPE || "", CRM_ENTITY_ID: params.CRM_ENTITY_ID ? parseInt(params.CRM_ENTITY_ID, 10) : null,
    } });
  }

  function telephonyFinish(params) {
    var call = externalCalls[params.CALL_ID];
    if (!call) return coreError("Call is not found (call should be registered prior to finishing)");
    call.finished = true;
    var duration = parseInt(params.DURATION || "0", 10) || 0;
    var index = Object.keys(externalCalls).indexOf(params.CALL_ID);
    return jsonAnswer(200, { result: {
      ID: String(1000 + index), CALL_ID: params.CALL_ID, CALL_DURATION: duration,
      CALL_FAILED_CODE: params.STATUS_CODE || (duration > 0 ? "200" : "304"),
      CRM_ACTIVITY_ID: 5000 + index,
    } });
  }

  // Answers without a programmed one: what Bitrix24 answers a softphone worker.
  var BUILT_IN = {
    "user.current": function () {
      return jsonAnswer(200, { result: copy(config.user) });
    },
    // The application's options for the operator (user.option.set stores, .get reads one by
    // `option`, or all): where an app keeps per-operator settings such as a SIP password.
    "user.option.get": function (params) {
      var options = config.userOptions || {};
      if (params.option === undefined) return jsonAnswer(200, { result: copy(options) });
      return jsonAnswer(200, { result: options[params.option] === undefined ? "" : options[params.option] });
    },
    "user.option.set": function (params) {
      if (!isObject(params.options)) return coreError("options should be set");
      config.userOptions = Object.assign({}, config.userOptions, params.options);
      return jsonAnswer(200, { result: true });
    },
    "telephony.externalcall.register": telephonyRegister,
    "telephony.externalcall.finish": telephonyFinish,
    "telephony.externalcall.show": function (params) {
      return externalCalls[params.CALL_ID] ? jsonAnswer(200, { result: true }) : coreError("Call is not found");
    },
    "telephony.externalcall.hide": function (params) {
      return externalCalls[params.CALL_ID] ? jsonAnswer(200, { result: true }) : coreError("Call is not found");
    },
    "telephony.externalcall.attachrecord": function (params) {
      return externalCalls[params.CALL_ID] ? jsonAnswer(200, { result: { FILE_ID: 1 } }) : coreError("Call is not found");
    },
  };

  function programmedAnswer(answer, params) {
    if (answer.network) return { network: true };
    if ("body" in answer) return { status: answer.status || 200, text: String(answer.body) };
    if (answer.items) {
      var start = parseInt(params.start || "0", 10) || 0;
      var page = { result: answer.items.slice(start, start + PAGE_SIZE), total: answer.items.length };
      if (start + PAGE_SIZE < answer.items.length) page.next = start + PAGE_SIZE;
      return jsonAnswer(answer.status || 200, page);
    }
    var body = copy(answer);
    delete body.status;
    return jsonAnswer(answer.status || (answer.error !== undefined ? 400 : 200), body);
  }

  function serve(method, params, batch) {
    var name = String(method).toLowerCase();
    var programmed = restResponses[name];
    var reply;
    if (programmed) {
      reply = programmedAnswer(programmed.answers[Math.min(programmed.served, programmed.answers.length - 1)], params);
      programmed.served += 1;
    } else if (BUILT_IN[name]) {
      reply = BUILT_IN[name](params);
    } else {
      reply = jsonAnswer(400, {
        error: "ERROR_METHOD_NOT_FOUND",
        error_description: 'BX24 stub: no answer programmed for REST method "' + method +
          '"; program one with BX24Stub.respond(method, {result: ...})',
      });
    }
    var entry = { method: String(method), params: copy(params), time: now(), batch: batch,
      status: reply.network ? null : reply.status, answer: reply.network ? { network: true } : parseOr(reply.text) };
    restLog.push(entry);
    notify("rest", entry);
    afterRest(method, params, reply);
    return reply;
  }

  function parseOr(text) {
    try { return JSON.parse(text); } catch (error) { return { body: String(text).slice(0, 300) }; }
  }

  // One HTTP request to the REST server: the token checked, `batch` run call by call.
  function restRequest(method, body) {
    var params = decodeForm(body);
    var token = params.auth;
    delete params.auth;
    if (auth === false || token !== auth.access_token) {
      return jsonAnswer(401, { error: "invalid_token", error_description: "Unable to authenticate" });
    }
    if (!(auth.expires_in > Date.now())) {
      return jsonAnswer(401, { error: "expired_token", error_description: "The access token provided has expired." });
    }
    if (String(method).toLowerCase() !== "batch") return serve(method, params, false);
    var out = { result: {}, result_error: {}, result_total: {}, result_next: {}, result_time: {} };
    var commands = params.cmd || {};
    var keys = Object.keys(commands);
    if (keys.length > 50) return jsonAnswer(400, { error: "ERROR_BATCH_LENGTH_EXCEEDED", error_description: "Max batch length exceeded" });
    for (var i = 0; i < keys.length; i++) {
      var command = String(commands[keys[i]]);
      var q = command.indexOf("?");
      var reply = serve(q < 0 ? command : command.slice(0, q), decodeForm(q < 0 ? "" : command.slice(q + 1)), true);
      var answer = reply.network ? { error: "NETWORK_ERROR" } : parseOr(reply.text);
      if (answer.error !== undefined) {
        out.result_error[keys[i]] = { error: answer.error, error_description: answer.error_description || "" };
        if (params.halt === "1" || params.halt === "true") break;
      } else {
        out.result[keys[i]] = answer.result;
        if (answer.total !== undefined) out.result_total[keys[i]] = answer.total;
        if (answer.next !== undefined) out.result_next[keys[i]] = answer.next;
      }
    }
    return jsonAnswer(200, { result: out, time: { start: Date.now() / 1000 } });
  }

  // After a successful register with SHOW (the default), Bitrix24 opens the operator's card
  // for it and fires initialized with its CALL_ID; hide closes it.
  function afterRest(method, params, reply) {
    var name = String(method).toLowerCase();
    var answer = reply.network ? null : parseOr(reply.text);
    if (!answer || answer.error !== undefined || reply.status >= 300) return;
    if (name === "telephony.externalcall.register" && !/^(0|false|N)$/.test(String(params.SHOW))) {
      var type = parseInt(params.TYPE, 10);
      later(function () {
        raiseCall({
          CALL_ID: answer.result.CALL_ID, PHONE_NUMBER: params.PHONE_NUMBER,
          LINE_NUMBER: params.LINE_NUMBER || "", LINE_NAME: "",
          CALL_DIRECTION: type === 1 ? "outgoing" : type === 4 ? "callback" : "incoming",
          CALL_STATE: "idle", CRM_ENTITY_TYPE: answer.result.CRM_ENTITY_TYPE || "",
          CRM_ENTITY_ID: answer.result.CRM_ENTITY_ID || 0, CRM_ACTIVITY_ID: null, CRM_BINDINGS: [],
        }, {});
      });
    }
    if (name === "telephony.externalcall.hide" && card && card.call.CALL_ID === params.CALL_ID) {
      closeCard();
      notify("card", snapshotCard());
    }
  }

  function handle(method, body) {
    return restRequest(method, body);
  }

  // The frame's own requests (the bx24 bridge uses fetch): only <domain>/rest/... is answered
  // here, anything else goes to the real fetch.
  var realFetch = window.fetch ? window.fetch.bind(window) : null;
  window.fetch = function (input, init) {
    var url = String(input && input.url || input);
    var match = url.match(/^https?:\/\/([^\/]+)\/rest\/(.+)\.json(\?|$)/);
    if (!match || match[1] !== config.domain) return realFetch(input, init);
    var body = init && init.body !== undefined ? String(init.body) : "";
    return new Promise(function (resolve, reject) {
      later(function () {
        var reply = handle(decodeURIComponent(match[2]), body);
        if (reply.network) reject(new TypeError("Failed to fetch"));
        else resolve(new Response(reply.text, { status: reply.status, headers: { "Content-Type": "application/json; charset=utf-8" } }));
      });
    });
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

  // A programmed response: an answer as Bitrix24's REST sends it, or a list given out in turn
  // (the last one repeats). See the REST server above for the forms an answer may take.
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
    restResponses[method.toLowerCase()] = { answers: copy(answers), served: 0 };
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
      var reply = handle(query.method, body);
      var answer = reply.network ? null : (function () { try { return JSON.parse(reply.text); } catch (e) { return null; } })();
      var success = answer !== null && reply.status >= 200 && reply.status < 500;
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
    // The real library asks the parent for its init data (getInitData) and runs the init
    // callbacks when the answer arrives: a later task.
    later(function () {
      initialized = true;
      initQueue.splice(0).forEach(onInit);
      notify("init", null);
    });
  }

  // ---------------------------------------------------------------- window.BX24

  var BX24 = {
    ready: onReady,
    isReady: function () { return ready; },
    init: onInit,
    install: function () {},
    installFinish: function () {},
    isAdmin: function () { return !!config.isAdmin; },
    getLang: function () { return config.lang; },
    getDomain: function () { return config.domain; },
    getAuth: function () {
      if (!initialized || auth === false || !(auth.expires_in > Date.now())) return false;
      return {
        access_token: auth.access_token,
        refresh_token: auth.refresh_token,
        expires_in: auth.expires_in,
        domain: config.domain,
        member_id: config.memberId,
      };
    },
    refreshAuth: function (callback) {
      if (!initialized) return;
      if (auth !== false) auth = makeAuth({});
      later(function () { if (isFunction(callback)) callback(BX24.getAuth()); });
    },
    callMethod: callMethod,
    callBatch: callBatch,
    openApplication: openApplication,
    placement: {
      info: function () {
        return initialized
          ? { placement: "PAGE_BACKGROUND_WORKER", options: copy(config.placementOptions) }
          : { placement: null, options: null };
      },
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
    // fail(status, reason).
    softphone: function (action) {
      var phone = window.bx24StandInSoftphone;
      if (!phone) fail("the frame has no stand-in softphone (bx24.sip_softphone with the SIP stand-in, or bx24.StandInSoftphone; a SIP phone starts a moment after the frame)");
      if (["ring", "pickUp", "hangUp", "fail"].indexOf(action) < 0 || !isFunction(phone[action])) {
        fail('unknown softphone action "' + action + '"; actions: ring, pickUp, hangUp, fail');
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
    applications: function () { return copy(applicationLog) || []; },
    closeApplication: closeApplication,
    initialized: function () { return initialized; },
    onChange: function (listener) {
      if (!isFunction(listener)) fail("onChange takes a function");
      listeners.push(listener);
      return function () { listeners = listeners.filter(function (l) { return l !== listener; }); };
    },
    // Forget the card, the recorded commands, events and REST calls, and the programmed REST
    // responses; keep the frame's bindings and the configuration. Lets one page serve many tests.
    reset: function () {
      card = null;
      clockOffsetMs = 0;
      commandLog = [];
      eventLog = [];
      restLog = [];
      restResponses = {};
      externalCalls = {};
      registrations = {};
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
  //   {bx24Stub: "signal", value}               <html data-bx24> (ready | error)
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
      try {
        if (!isFunction(BX24Stub[data.method])) fail("no method " + data.method);
        reply.result = BX24Stub[data.method].apply(null, data.args || []);
      } catch (error) {
        reply.error = String(error.message || error);
      }
      post(reply);
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
      post({ bx24Stub: "signal", value: root.dataset.bx24 || "" });
    }).observe(root, { attributes: true, attributeFilter: ["data-bx24"] });
    post({ bx24Stub: "change", kind: "hello", entry: null, card: snapshotCard() });
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
