// bx24 SIP glue: a JsSIP user agent for bx24.sip (Python), everything crossing as JSON text.
//
// bridge.js imports this module when the app makes a SIP softphone (never otherwise), with the
// URL of the JsSIP bundle the set-up made (runtime/bundle/jssip.<hash>.mjs). The BX24 stub's
// kit has a stand-in with the same exports (bx24_testing/static/emulator/sip-stub.mjs).
//
// createPhone(jssipUrl, optionsJson, receive) → phone
//   options: {server: "wss://..." | ["wss://a", "wss://b"] (failover, in that order), uri:
//             "sip:user@domain", password, displayName, dtmf: "rfc4733" | "info",
//             acceptTransfers, iceServers: [{urls, username, credential}],
//             iceTransportPolicy: "all" | "relay", codecs: ["opus", "PCMU"] (preferred first),
//             registerExpires: seconds}: the password and TURN credentials go to JsSIP and the
//             RTCPeerConnection only, never to a log; acceptTransfers: follow the other side's
//             REFER (else it is rejected)
//   receive(json) gets {type: "registration", state: "registered" | "unregistered" |
//             "failed" | "disconnected", cause, code}, {type: "incoming", id, number, display},
//             {type: "answered", id}, {type: "ended", id, originator, cause},
//             {type: "failed", id, originator, cause, code}, {type: "dtmf", id, key,
//             originator, transport}, {type: "transfer", id, state: "accepted" | "failed"},
//             {type: "referred", id, newId, target}, {type: "microphone", id, problem:
//             "denied" | "missing" | "unavailable" | "lost", message}, {type: "recovered", id}
//             (a call kept across a dropped WebSocket: its dialog refreshed by a re-INVITE)
//   phone.call(target) → id; answer(id); reject(id, code); hangup(id); mute(id, on);
//   hold(id, on); dtmf(id, key); transfer(id, target); stop(); for tests: sessionIds(),
//   recent() (the last 50 events), configuration(id), direction(id), stats(id) → Promise of {inboundBytes, outboundBytes, inboundEnergy,
//   outboundEnergy}

const MEDIA = { audio: true, video: false };

let serial = 0;

export async function createPhone(jssipUrl, optionsJson, receive) {
  const JsSIP = (await import(jssipUrl)).default;
  const options = JSON.parse(optionsJson);
  const recent = []; // the last events, for tests and the curious (never the password)
  const emit = (event) => {
    recent.push(event);
    if (recent.length > 50) recent.shift();
    try {
      receive(JSON.stringify(event));
    } catch (error) {
      console.error("[bx24 sip] the Python handler failed", error);
    }
  };
  const sessions = new Map();
  const audio = new Map();

  // No ICE servers by default: media goes to the SIP side's media relay (rtpengine, the PBX)
  // over host candidates; behind NAT the app gives STUN/TURN (docs/api.md, "A real network").
  const PC_CONFIG = {
    iceServers: options.iceServers || [],
    iceTransportPolicy: options.iceTransportPolicy || "all",
  };
  // Failover: JsSIP tries the sockets by weight, the first URL first.
  const servers = Array.isArray(options.server) ? options.server : [options.server];
  const sockets = servers.map((url, i) => ({
    socket: new JsSIP.WebSocketInterface(url), weight: servers.length - i,
  }));
  const ua = new JsSIP.UA({
    sockets,
    register_expires: options.registerExpires || 600,
    uri: options.uri,
    password: options.password || undefined,
    display_name: options.displayName || undefined,
    register: true,
    session_timers: false,
    connection_recovery_min_interval: 1,
    connection_recovery_max_interval: 4,
    user_agent: "bx24 (JsSIP)",
  });

  function registration(state) {
    return (event = {}) => emit({
      type: "registration", state, cause: event.cause || null,
      code: event.response ? event.response.status_code : null,
    });
  }
  ua.on("registered", registration("registered"));
  ua.on("unregistered", registration("unregistered"));
  ua.on("registrationFailed", registration("failed"));
  ua.on("disconnected", registration("disconnected"));

  // A refused registration or refresh (401, 403, 408, 5xx): JsSIP stops there; the phone asks
  // again after 1, 2, 4... s (at most RETRY_MAX_S apart) until it is registered. (A dropped
  // WebSocket is JsSIP's: it reconnects within connection_recovery_max_interval and registers.)
  const RETRY_MAX_S = 60;
  let failures = 0;
  let retry = null;
  let stopped = false;
  ua.on("registered", () => { failures = 0; clearTimeout(retry); retry = null; });
  ua.on("registrationFailed", () => {
    clearTimeout(retry);
    const delay = Math.min(RETRY_MAX_S, 2 ** failures++);
    retry = setTimeout(() => {
      retry = null;
      if (!stopped && ua.isConnected() && !ua.isRegistered()) ua.register();
    }, delay * 1000);
  });

  // The WebSocket back after a drop (the SIP server restarted, the network came back): the
  // calls that went on meanwhile (their media does not go through it) send a re-INVITE, so the
  // other side learns the new connection's address and its hang-up reaches this phone again.
  let dropped = false;
  ua.on("disconnected", () => { dropped = true; });
  ua.on("connected", () => {
    if (!dropped) return;
    dropped = false;
    for (const [id, s] of sessions) {
      if (s.isEstablished() && s.renegotiate()) emit({ type: "recovered", id });
    }
  });

  // The browser's network: gone (the office link, Wi-Fi, a laptop asleep) is said at once,
  // before the WebSocket notices; back: a new WebSocket at once (the old one may be dead
  // without knowing it: a new address, a NAT that forgot it), registered, its calls' dialogs
  // refreshed (above). JsSIP 3.13 (pinned) has no public reconnect: its transport's.
  const offline = () => emit({ type: "registration", state: "disconnected", cause: "network", code: null });
  const online = () => {
    if (stopped) return;
    const transport = ua._transport;
    try {
      if (transport.isConnected()) transport.disconnect();
      transport.connect();
    } catch (error) {
      console.warn("[bx24 sip] reconnecting after the network came back", error);
    }
  };
  window.addEventListener("offline", offline);
  window.addEventListener("online", online);

  function playRemote(id, session) {
    const connection = session.connection;
    if (!connection) return;
    connection.addEventListener("track", (event) => {
      let element = audio.get(id);
      if (!element) {
        element = new Audio();
        element.autoplay = true;
        audio.set(id, element);
      }
      element.srcObject = event.streams[0] || new MediaStream([event.track]);
      element.play().catch(() => { /* no autoplay: the media still flows */ });
    });
  }

  // The codecs the app prefers first (by name; the others kept after them, in the browser's
  // order): set on the call's transceivers just before each offer or answer is made.
  function preferCodecs(connection) {
    if (!options.codecs || !options.codecs.length || !connection || connection.bx24Codecs) return;
    connection.bx24Codecs = true;
    const wanted = options.codecs.map((name) => `audio/${name}`.toLowerCase());
    const rank = (codec) => {
      const i = wanted.indexOf(codec.mimeType.toLowerCase());
      return i < 0 ? wanted.length : i;
    };
    const apply = () => {
      const capabilities = RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities("audio");
      if (!capabilities) return;
      const ordered = capabilities.codecs.slice().sort((a, b) => rank(a) - rank(b));
      for (const transceiver of connection.getTransceivers()) {
        try { transceiver.setCodecPreferences(ordered); } catch { /* not for this one */ }
      }
    };
    for (const name of ["createOffer", "createAnswer"]) {
      const make = connection[name].bind(connection);
      connection[name] = (...args) => { apply(); return make(...args); };
    }
  }

  function microphoneProblem(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") return "denied";
    if (name === "NotFoundError" || name === "OverconstrainedError") return "missing";
    return "unavailable";
  }

  function watchMicrophone(id, session) {
    const connection = session.connection;
    if (!connection || session.bx24Watched) return;
    session.bx24Watched = true;
    for (const sender of connection.getSenders()) {
      const track = sender.track;
      if (!track || track.kind !== "audio") continue;
      track.addEventListener("ended", () => {
        if (sessions.has(id)) emit({ type: "microphone", id, problem: "lost", message: "the microphone's track ended" });
      });
    }
  }

  function wire(id, session) {
    sessions.set(id, session);
    onRefer(id, session);
    session.on("peerconnection", () => playRemote(id, session));
    session.on("peerconnection", (event) => preferCodecs(event.peerconnection));
    // The microphone: none, blocked, or gone during the call (unplugged): said, never silent.
    // (JsSIP says "failed" first, then "getusermediafailed" with the reason: see failed below)
    session.on("getusermediafailed", (error) => { session.bx24MediaError = error; });
    session.on("confirmed", () => watchMicrophone(id, session));
    session.on("accepted", () => watchMicrophone(id, session));
    session.on("accepted", () => { if (session.direction === "outgoing") emit({ type: "answered", id }); });
    session.on("ended", (e) => { forget(id); emit({ type: "ended", id, originator: e.originator, cause: e.cause }); });
    session.on("failed", (e) => {
      forget(id);
      const failed = () => emit({ type: "failed", id, originator: e.originator, cause: e.cause,
        code: e.message && e.message.status_code ? e.message.status_code : null });
      if (e.cause !== JsSIP.C.causes.USER_DENIED_MEDIA_ACCESS) {
        failed();
        return;
      }
      setTimeout(() => {  // the microphone's reason first, then the failure it caused
        const error = session.bx24MediaError;
        emit({ type: "microphone", id, problem: microphoneProblem(error),
          message: String((error && error.message) || error || "getUserMedia failed") });
        failed();
      }, 0);
    });
    session.on("newDTMF", (e) => emit({
      type: "dtmf", id, key: e.dtmf.tone, originator: e.originator, transport: "info" }));
  }

  function forget(id) {
    sessions.delete(id);
    const element = audio.get(id);
    if (element) {
      element.srcObject = null;
      audio.delete(id);
    }
  }

  // A REFER from the other side (it transfers us): followed only when asked (acceptTransfers:
  // the kit's caller pages); the new call is "referred" with its id.
  function onRefer(id, session) {
    session.on("refer", (event) => {
      if (!options.acceptTransfers) { event.reject(); return; }
      const newId = `out-${++serial}`;
      event.accept((created) => {
        wire(newId, created);
        playRemote(newId, created);
        emit({ type: "referred", id, newId, target: String(event.request.refer_to.uri) });
      }, { mediaConstraints: MEDIA, pcConfig: PC_CONFIG });
    });
  }

  ua.on("newRTCSession", (event) => {
    if (event.originator !== "remote") return;
    const id = `in-${++serial}`;
    const session = event.session;
    wire(id, session);
    const caller = session.remote_identity;
    emit({ type: "incoming", id, number: caller.uri.user, display: caller.display_name || null });
  });

  ua.start();

  const session = (id) => {
    const found = sessions.get(id);
    if (!found) throw new Error(`no SIP session ${id}`);
    return found;
  };

  const phone = {
    call(target) {
      const id = `out-${++serial}`;
      const created = ua.call(target, { mediaConstraints: MEDIA, pcConfig: PC_CONFIG });
      wire(id, created);
      preferCodecs(created.connection);  // made already: its offer comes after the microphone
      if (created.connection) playRemote(id, created);
      return id;
    },
    answer(id) {
      const s = session(id);
      s.answer({ mediaConstraints: MEDIA, pcConfig: PC_CONFIG });
      playRemote(id, s);
    },
    reject(id, code) { session(id).terminate({ status_code: code || 603 }); },
    hangup(id) { if (sessions.has(id)) sessions.get(id).terminate(); },
    mute(id, on) { if (on) session(id).mute({ audio: true }); else session(id).unmute({ audio: true }); },
    hold(id, on) { if (on) session(id).hold(); else session(id).unhold(); },
    dtmf(id, key) {
      const s = session(id);
      const sender = s.connection && s.connection.getSenders().find((x) => x.dtmf);
      const rfc4733 = options.dtmf !== "info" && sender && sender.dtmf.canInsertDTMF;
      if (rfc4733) {
        sender.dtmf.addEventListener("tonechange", (e) => {
          if (e.tone) emit({ type: "dtmf", id, key: e.tone, originator: "local", transport: "rfc4733" });
        }, { once: true });
        sender.dtmf.insertDTMF(key, 100, 70);
      } else {
        s.sendDTMF(key, { transportType: "INFO" });
      }
    },
    transfer(id, target) {
      const s = session(id);
      s.refer(target, {
        eventHandlers: {
          accepted: () => { emit({ type: "transfer", id, state: "accepted" }); s.terminate(); },
          failed: () => { emit({ type: "transfer", id, state: "failed" }); s.terminate(); },
        },
      });
    },
    stop() {
      stopped = true;
      clearTimeout(retry);
      window.removeEventListener("offline", offline);
      window.removeEventListener("online", online);
      for (const s of sessions.values()) {
        try { s.terminate(); } catch (error) { /* ended meanwhile */ }
      }
      ua.stop();
    },
    async stats(id) {
      const s = sessions.get(id);
      const out = { inboundBytes: 0, outboundBytes: 0, inboundEnergy: 0, outboundEnergy: 0 };
      if (!s || !s.connection) return out;
      (await s.connection.getStats()).forEach((report) => {
        if (report.kind !== "audio") return;
        if (report.type === "inbound-rtp") {
          out.inboundBytes += report.bytesReceived || 0;
          out.inboundEnergy += report.totalAudioEnergy || 0;
        } else if (report.type === "outbound-rtp") {
          out.outboundBytes += report.bytesSent || 0;
        } else if (report.type === "media-source") {
          out.outboundEnergy += report.totalAudioEnergy || 0;
        }
      });
      return out;
    },
    sessionIds() { return [...sessions.keys()]; },
    // what the call's connection was given (TURN credentials left out) and its local SDP
    configuration(id) {
      const c = session(id).connection;
      const config = c.getConfiguration();
      return {
        iceTransportPolicy: config.iceTransportPolicy,
        iceServers: (config.iceServers || []).map((server) => ({ urls: server.urls })),
        localSdp: c.localDescription ? c.localDescription.sdp : null,
      };
    },
    recent() { return recent.slice(); },
    direction(id) {
      const s = sessions.get(id);
      const transceiver = s && s.connection && s.connection.getTransceivers()[0];
      return transceiver ? transceiver.currentDirection : null;
    },
  };
  return phone;
}
