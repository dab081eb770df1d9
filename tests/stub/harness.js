// Test-side helpers for the stub conformance tests: promise wrappers around BX24's callback API,
// loaded into the page after the stub. Every wait is on a condition, guarded by a time limit
// that fails loudly instead of hanging.
(function () {
  "use strict";
  var received = {};
  var waiters = [];

  function within(promise, what) {
    return new Promise(function (resolve, reject) {
      var guard = setTimeout(function () { reject(new Error("timed out waiting for " + what)); }, 5000);
      promise.then(function (value) { clearTimeout(guard); resolve(value); },
                   function (error) { clearTimeout(guard); reject(error); });
    });
  }

  function settleWaiters() {
    waiters.slice().forEach(function (waiter) {
      var got = received[waiter.name] || [];
      if (got.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(got.slice());
      }
    });
  }

  function record(name) {
    return function (payload) {
      (received[name] = received[name] || []).push(payload);
      settleWaiters();
    };
  }

  function placementCall(command, params, callback, omitParams) {
    if (omitParams) BX24.placement.call(command, callback);
    else BX24.placement.call(command, params, callback);
  }

  window.T = {
    received: received,
    bindAll: function () {
      BX24Stub.EVENTS.forEach(function (name) { BX24.placement.bindEvent(name, record(name)); });
    },
    bind: function (name) { BX24.placement.bindEvent(name, record(name)); },
    clear: function () { Object.keys(received).forEach(function (k) { delete received[k]; }); },
    // Resolves with every payload received for `name` once there are at least `count`.
    waitEvents: function (name, count) {
      var promise = new Promise(function (resolve) {
        waiters.push({ name: name, count: count, resolve: resolve });
        settleWaiters();
      });
      return within(promise, count + " x " + name);
    },
    // Resolves {result, sync} when the callback runs; sync tells whether it ran inside call().
    call: function (command, params, omitParams) {
      return within(new Promise(function (resolve) {
        var returned = false;
        placementCall(command, params, function (result) {
          resolve({ result: result, sync: !returned });
        }, omitParams);
        returned = true;
      }), "the answer to " + command);
    },
    // Sends `command`, then a probe command; resolves when the probe's answer arrives, telling
    // whether `command` had been answered by then (answers come in order, as messages do).
    callProbe: function (command, params) {
      var answers = [];
      placementCall(command, params, function (result) { answers.push(result); });
      return within(new Promise(function (resolve) {
        BX24.placement.call("CallCardGetListUiStates", {}, function () {
          resolve({ answered: answers.length > 0, result: answers[0] });
        });
      }), "the probe after " + command);
    },
    rest: function (method, params) {
      return within(new Promise(function (resolve) {
        BX24.callMethod(method, params, function (res) { resolve(res); });
      }), "REST " + method);
    },
    batch: function (calls, halt) {
      return within(new Promise(function (resolve) {
        BX24.callBatch(calls, function (results) { resolve(results); }, halt);
      }), "REST batch");
    },
  };
})();
