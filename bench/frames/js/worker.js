// The sample app (frame/main.py on bx24.calls) in plain JavaScript: the baseline row of
// bench/run.py. A stand-in softphone rings (window.bx24StandInSoftphone, as bx24 exposes it),
// the call is registered, the card Bitrix24 opens for it is filled in; answer, mute, hold and
// hang up go to the softphone and back to the card; the end is reported once.
BX24.init(function () {
  var call = function (command, params) { BX24.placement.call(command, params, function () {}); };
  var on = function (name, handler) { BX24.placement.bindEvent("BackgroundCallCard::" + name, handler); };
  var rest = function (method, params, then) {
    BX24.callMethod(method, params, function (result) { if (!result.error() && then) then(result.data()); });
  };
  var userId = null;
  var current = null;   // {number, callId, connectedAt, shown}
  var calls = {};       // CALL_ID -> call
  var unpaired = {};    // CALL_ID -> initialized payload that came before register's answer

  function show(info) {
    var c = calls[info.CALL_ID];
    if (!c) return;
    current = c;
    call("CallCardSetCardTitle", { title: "Incoming call " + c.number });
    call("CallCardSetStatusText", { statusText: "Line line1" });
  }
  function register(c) {
    rest("telephony.externalcall.register", {
      PHONE_NUMBER: c.number, TYPE: 2, USER_ID: userId, LINE_NUMBER: "line1", SHOW: 1,
      EXTERNAL_CALL_ID: "js-" + Math.random().toString(16).slice(2),
    }, function (data) {
      c.callId = data.CALL_ID;
      calls[c.callId] = c;
      if (unpaired[c.callId]) { show(unpaired[c.callId]); delete unpaired[c.callId]; }
    });
  }
  window.bx24StandInSoftphone = {
    ring: function (number) {
      var c = { number: String(number) };
      if (userId === null) rest("user.current", {}, function (me) { userId = me.ID; register(c); });
      else register(c);
    },
    pickUp: function () {}, hangUp: function () {}, fail: function () {},
  };
  on("initialized", function (info) {
    if (calls[info.CALL_ID]) show(info);
    else unpaired[info.CALL_ID] = info;
  });
  on("answerButtonClick", function () {
    if (!current) return;
    current.connectedAt = Date.now();
    call("CallCardSetUiState", { uiState: "connected" });
    call("CallCardSetStatusText", { statusText: "Talking" });
  });
  on("muteButtonClick", function (muted) { if (current) call("CallCardSetMute", { muted: !!muted }); });
  on("holdButtonClick", function (held) { if (current) call("CallCardSetHold", { held: !!held }); });
  on("hangupButtonClick", function () {
    if (!current) return;
    var seconds = current.connectedAt ? Math.round((Date.now() - current.connectedAt) / 1000) : 0;
    rest("telephony.externalcall.finish", { CALL_ID: current.callId, USER_ID: userId, DURATION: seconds,
      STATUS_CODE: current.connectedAt ? "200" : "603" });
    call("CallCardClose", {});
    current = null;
  });
  document.documentElement.dataset.bx24 = "ready";
});
