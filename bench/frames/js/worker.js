// The sample app (frame/main.py) in plain JavaScript: the baseline row of bench/run.py.
BX24.init(function () {
  var call = function (command, params) { BX24.placement.call(command, params, function () {}); };
  var on = function (name, handler) { BX24.placement.bindEvent("BackgroundCallCard::" + name, handler); };
  on("initialized", function (info) {
    call("CallCardSetCardTitle", { title: "Call " + (info.PHONE_NUMBER || "from an unknown number") });
    call("CallCardSetStatusText", { statusText: info.LINE_NAME || "" });
  });
  on("muteButtonClick", function (muted) { call("CallCardSetMute", { muted: !!muted }); });
  on("holdButtonClick", function (held) { call("CallCardSetHold", { held: !!held }); });
  on("hangupButtonClick", function () { call("CallCardClose", {}); });
  document.documentElement.dataset.bx24 = "ready";
});
