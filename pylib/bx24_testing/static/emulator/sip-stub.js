/*
 * SIP stand-in: the phone of bx24.sip (Python's SipSoftphone) without a SIP server, for tests
 * and the emulator. bridge.js uses window.bx24SipStandIn.createPhone in place of sip.mjs +
 * JsSIP when this script is on the page (the kit adds it after the BX24 stub unless a test asks
 * for real SIP; the emulator's page has it).
 *
 * Same interface as sip.mjs: createPhone(jssipUrl, optionsJson, receive) → phone with call,
 * answer, reject, hangup, mute, hold, dtmf, transfer, stop; events as JSON text to receive().
 * It registers at once (never sending the password anywhere; with BX24_STUB_CONFIG.sipPassword,
 * only when the phone's password is that one), then says on the console what a
 * real phone would do: "[softphone stand-in] answer the call from +1555...".
 *
 * The other side is played from outside, as window.bx24StandInSoftphone (the stub's
 * BX24Stub.softphone and the kit's card.softphone call it): ring(number, line), pickUp(),
 * hangUp(), fail(status, reason); the link: refuseRegistration(cause, code),
 * dropLink(network), registerAgain() (bx24_testing.fake.FakeSipPhone plays them alike).
 */
(function () {
  "use strict";

  var serial = 0;

  function createPhone(jssipUrl, optionsJson, receive) {
    var options = JSON.parse(optionsJson);
    var calls = [];  // {id, number, direction, ended}
    var stopped = false;

    function emit(event) {
      setTimeout(function () { if (!stopped) receive(JSON.stringify(event)); }, 0);
    }
    function say(text) { console.log("[softphone stand-in] " + text); }
    function find(id) {
      var found = calls.filter(function (c) { return c.id === id; })[0];
      if (!found) throw new Error("no SIP session " + id);
      return found;
    }
    function newest() {
      var live = calls.filter(function (c) { return !c.ended; });
      return live[live.length - 1] || null;
    }
    function number(target) { return String(target).replace(/^sip:/, "").split("@")[0]; }
    function end(call) { call.ended = true; }

    // The SIP server's account check, when a test names the password it accepts
    // (BX24_STUB_CONFIG.sipPassword): a wrong or missing one is refused as a server would.
    var accepted = (window.BX24_STUB_CONFIG || {}).sipPassword;
    if (typeof accepted === "string" && options.password !== accepted) {
      emit({ type: "registration", state: "failed", cause: "Authentication Error", code: 401 });
      console.log("[sip stand-in] refused the registration of " + options.uri + ": wrong password");
    } else {
      emit({ type: "registration", state: "registered", cause: null, code: null });
      console.log("[sip stand-in] registered as " + options.uri + " at " + options.server);
    }

    window.bx24StandInSoftphone = {
      ring: function (phoneNumber, line) {
        var call = { id: "in-" + (++serial), number: String(phoneNumber), direction: "in" };
        calls.push(call);
        emit({ type: "incoming", id: call.id, number: call.number, display: null, line: line });
      },
      pickUp: function () {
        var call = newest();
        if (call) emit({ type: "answered", id: call.id });
      },
      hangUp: function () {
        var call = newest();
        if (!call) return;
        end(call);
        emit({ type: "ended", id: call.id, originator: "remote", cause: "Terminated" });
      },
      fail: function (status, reason) {
        var call = newest();
        if (!call) return;
        end(call);
        emit({ type: "failed", id: call.id, originator: "remote", cause: reason || null,
               code: String(status) });
      },
      // the link to the SIP server, as JsSIP reports it (calls go on): a registration or its
      // refresh refused (401, 403, 408: no answer...), the WebSocket or the network gone, back
      // (cause, code: JsSIP's, as bx24_testing.fake.registration_refused gives them)
      refuseRegistration: function (cause, code) {
        emit({ type: "registration", state: "failed", cause: cause || "SIP Failure Code",
               code: code === undefined ? null : code });
      },
      dropLink: function (network) {
        emit({ type: "registration", state: "disconnected", cause: network ? "network" : null,
               code: null });
      },
      registerAgain: function () {
        emit({ type: "registration", state: "registered", cause: null, code: 200 });
      },
    };

    return {
      call: function (target) {
        var call = { id: "out-" + (++serial), number: number(target), direction: "out" };
        calls.push(call);
        say("dial " + call.number);
        return call.id;
      },
      answer: function (id) { say("answer the call from " + find(id).number); },
      reject: function (id, code) { end(find(id)); say("reject the call (" + code + ")"); },
      hangup: function (id) {
        var call = calls.filter(function (c) { return c.id === id; })[0];
        if (call && !call.ended) { end(call); say("hang up"); }
      },
      mute: function (id, on) { find(id); say("microphone " + (on ? "muted" : "on")); },
      hold: function (id, on) { find(id); say("call " + (on ? "held" : "resumed")); },
      dtmf: function (id, key) { find(id); say("DTMF " + key); },
      transfer: function (id, target) {
        end(find(id));
        say("transfer to " + number(target));
      },
      stop: function () {
        if (stopped) return;
        stopped = true;
        calls.forEach(end);
        if (window.bx24StandInSoftphone) delete window.bx24StandInSoftphone;
        console.log("[sip stand-in] unregistered");
      },
    };
  }

  window.bx24SipStandIn = { createPhone: createPhone };
})();
