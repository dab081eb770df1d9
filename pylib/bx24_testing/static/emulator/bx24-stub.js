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
 *              auth: {...token overrides} | false, restResponses: {method: response}})
 *   respond(method, {result, total?, next?} | {error, error_description} | [answers in turn])
 *   raiseCall(payloadOverrides, {uiState, transferred, own})   null in overrides removes a key
 *   fire(event, payload)       any event (with or without "BackgroundCallCard::"), any payload
 *   click(button, arg)         a button the card shows now; throws, listing them, otherwise
 *   card(), buttons(), commands(), events(), bindings(), restCalls(), config(), initialized()
 *   applications(), closeApplication()   BX24.openApplication calls; close runs their callbacks
 *   advanceClock(ms)           moves the card's timer clock: timer tests need not wait
 *   onChange(fn(kind, entry))  kind: command|event|binding|rest|application|card|config|init|reset
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
  function later(fn) { setTimeout(fn, 0); }

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
    ["mode", "domain", "lang", "isAdmin", "memberId", "placementOptions"].forEach(function (key) {
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

  function fire(eventName, payload) {
    return deliver(fullEventName(eventName), payload, "fire");
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

  // ---------------------------------------------------------------- REST (callMethod, callBatch)

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
    this.query = copy(query);
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
    var params = Object.assign({}, this.query.data || {}, { start: this.answer.next });
    callMethod(this.query.method, params, isFunction(callback) ? callback : this.query.callback);
  };

  // A programmed response: an answer as Bitrix24's REST sends it ({result, total?, next?} or
  // {error, error_description}), or a list of them given out in turn (the last one repeats).
  function respond(method, response) {
    if (typeof method !== "string" || !method) fail("respond() needs a REST method name");
    var answers = Array.isArray(response) ? response : [response];
    answers.forEach(function (answer) {
      if (!isObject(answer) || (!("result" in answer) && !("error" in answer))) {
        fail('response for "' + method + '" must be {result: ...} or {error: ..., error_description: ...}, got ' +
          JSON.stringify(answer));
      }
    });
    restResponses[method.toLowerCase()] = { answers: copy(answers), served: 0 };
  }

  function answerFor(method, params, batch) {
    var programmed = restResponses[String(method).toLowerCase()];
    var answer;
    if (!programmed) {
      answer = {
        error: "BX24_STUB_NOT_PROGRAMMED",
        error_description: 'BX24 stub: no response programmed for REST method "' + method +
          '"; program one with BX24Stub.respond(method, {result: ...})',
      };
    } else {
      answer = programmed.answers[Math.min(programmed.served, programmed.answers.length - 1)];
      programmed.served += 1;
    }
    var entry = { method: String(method), params: copy(params), time: now(), batch: batch, answer: copy(answer) };
    restLog.push(entry);
    notify("rest", entry);
    return copy(answer);
  }

  function statusOf(answer) { return answer.error !== undefined ? 400 : 200; }

  function whenInitialized(fn) { if (initialized) later(fn); else initQueue.push(fn); }

  function callMethod(method, params, callback) {
    var sent = overTheWire(params);
    whenInitialized(function () {
      var answer = answerFor(method, sent, false);
      if (isFunction(callback)) {
        callback.call(window, new AjaxResult(answer, { method: method, data: sent, callback: callback }, statusOf(answer)));
      }
    });
  }

  function callBatch(calls, callback, haltOnError) {
    var list = Array.isArray(calls);
    var keys = Object.keys(calls || {});
    var commands = keys.map(function (key) {
      var call = calls[key];
      if (Array.isArray(call)) return { key: key, method: call[0], params: overTheWire(call[1]) };
      if (call && call.method) return { key: key, method: call.method, params: overTheWire(call.params) };
      return null;
    }).filter(Boolean);
    if (commands.length === 0) return;
    whenInitialized(function () {
      var results = list ? [] : {};
      for (var i = 0; i < commands.length; i++) {
        var command = commands[i];
        var answer = answerFor(command.method, command.params, true);
        var failed = answer.error !== undefined;
        results[command.key] = new AjaxResult({
          result: failed ? {} : answer.result,
          error: failed ? { error: answer.error, error_description: answer.error_description } : undefined,
          total: answer.total,
          next: answer.next,
        }, { method: command.method, data: command.params, callback: callback }, 200);
        if (failed && haltOnError) break;
      }
      if (isFunction(callback)) callback.call(window, results);
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
    advanceClock: function (ms) {
      if (typeof ms !== "number" || !(ms >= 0)) fail("advanceClock takes milliseconds >= 0");
      clockOffsetMs += ms;
      notify("card", snapshotCard());
    },
    commands: function () { return copy(commandLog) || []; },
    events: function () { return copy(eventLog) || []; },
    bindings: function () { return bindingLog.map(publicBinding); },
    restCalls: function () { return copy(restLog) || []; },
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
