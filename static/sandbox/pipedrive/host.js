/*
 * Pipedrive sandbox: the host side of the app-extensions SDK protocol
 * (@pipedrive/app-extensions-sdk, read from its dist/index.js 0.15.1).
 *
 * The SDK in an iframe sends window.parent.postMessage({payload, id}, '*', [port]) where `id` is
 * the iframe's runtime `id` query parameter and payload is one of
 *   {type: 'command', command, args}  -> we answer once on the port: {data} or {error}
 *   {type: 'listener', event}         -> we keep the port and post {data} when the event happens
 *   {type: 'track', event}            -> no port, nothing to answer
 * Messages from windows other than our registered iframes, or with another id, are ignored.
 *
 * Routing as Pipedrive documents it (integration/pipedrive/README.md, "Contract facts"):
 * - open_modal {type: custom_modal, action_id} opens only a modal the app registered (Developer Hub
 *   ID or name; the server answers 404 otherwise and the command fails);
 * - the modal closes by its close_modal command or the user's X; then close_custom_modal goes to the
 *   frame that opened it (the panel), never to the closed modal;
 * - a frame that has not called initialize within 10 s is not displayed.
 */
(function () {
  "use strict";

  var PANEL_MIN = 100, PANEL_MAX = 750, MODAL_MIN_W = 320, MODAL_MIN_H = 120;

  var root = document.getElementById("pd-host");
  if (!root) { return; }
  var cfg = root.dataset;
  var INIT_TIMEOUT_MS = Number(cfg.initTimeoutMs) || 10000;  // Pipedrive: 10 s; tests may shorten it
  var frames = {};          // runtime id -> frame state
  var pendingModal = null;  // {resolve, opener}
  var state = { messages: [] };
  window.__pdHost = state;  // read by the browser test

  function runtimeId(src) {
    return new URL(src, window.location.href).searchParams.get("id");
  }

  function register(iframe, kind, src) {
    var id = runtimeId(src);
    var frame = { id: id, iframe: iframe, kind: kind, initialized: false, listeners: {} };
    frame.timer = window.setTimeout(function () {
      if (frame.initialized) { return; }
      // "the iframe won't be displayed to the user"; a late initialize changes nothing
      frame.timedOut = true;
      if (kind === "panel") {
        iframe.style.display = "none";
        document.getElementById("pd-panel-error").hidden = false;
        root.dataset.panelState = "timeout";
      } else {
        root.dataset.modalState = "timeout";
        closeModal("closed");
      }
    }, INIT_TIMEOUT_MS);
    frames[id] = frame;
    return frame;
  }

  function logMessage(frame, payload) {
    var entry = { frame: frame.kind, type: payload.type, name: payload.command || payload.event, args: payload.args || null, at: Date.now() };
    state.messages.push(entry);
    var item = document.createElement("li");
    item.dataset.frame = entry.frame;
    item.dataset.type = entry.type;
    item.dataset.name = entry.name || "";
    item.textContent = entry.frame + " " + entry.type + " " + entry.name + (entry.args ? " " + JSON.stringify(entry.args) : "");
    document.getElementById("pd-sdk-log").appendChild(item);
  }

  function reply(port, message) {
    if (port) { port.postMessage(message); }
  }

  function clamp(value, min, max) {
    return Math.max(min, Math.min(max, value));
  }

  function applySize(frame, size) {
    if (!size) { return; }
    if (frame.kind === "panel") {
      if (size.height) { frame.iframe.height = String(clamp(Number(size.height), PANEL_MIN, PANEL_MAX)); }
    } else {
      if (size.height) { frame.iframe.style.height = Math.max(MODAL_MIN_H, Number(size.height)) + "px"; }
      if (size.width) { frame.iframe.style.width = Math.max(MODAL_MIN_W, Number(size.width)) + "px"; }
    }
  }

  function fetchJson(url) {
    return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) { throw new Error(body.error || ("Host request failed: " + r.status)); }
        return body;
      });
    });
  }

  // Host -> app event on every port the frame subscribed with for it (SDK listen()).
  function emit(frame, event, data) {
    var ports = (frame && frame.listeners[event]) || [];
    logMessage(frame, { type: "event", event: event });
    ports.forEach(function (port) { port.postMessage({ data: data }); });
  }

  function showSnackbar(args) {
    var bar = document.getElementById("pd-snackbar");
    document.getElementById("pd-snackbar-text").textContent = String(args.message || "");
    var link = document.getElementById("pd-snackbar-link");
    if (args.link && args.link.url) {
      link.href = args.link.url;
      link.textContent = args.link.label || args.link.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.hidden = false;
    } else {
      link.hidden = true;
    }
    bar.hidden = false;
    window.clearTimeout(showSnackbar.timer);
    showSnackbar.timer = window.setTimeout(function () { bar.hidden = true; }, 6000);
  }

  function showConfirmation(args) {
    return new Promise(function (resolve) {
      var box = document.getElementById("pd-confirm");
      var ok = document.getElementById("pd-confirm-ok");
      var cancel = document.getElementById("pd-confirm-cancel");
      document.getElementById("pd-confirm-title").textContent = String(args.title || "");
      document.getElementById("pd-confirm-description").textContent = String(args.description || "");
      ok.textContent = args.okText || "OK";
      cancel.textContent = args.cancelText || "Cancel";
      ok.className = "pd-button " + (args.okColor === "negative" ? "pd-danger" : "pd-primary");
      function done(confirmed) {
        box.hidden = true;
        ok.onclick = cancel.onclick = null;
        resolve({ confirmed: confirmed });
      }
      ok.onclick = function () { done(true); };
      cancel.onclick = function () { done(false); };
      box.hidden = false;
    });
  }

  // The modal is gone first; then its opener hears about it (CLOSE_CUSTOM_MODAL) and its
  // open_modal promise resolves.
  function closeModal(status) {
    var box = document.getElementById("pd-modal");
    var iframe = document.getElementById("pd-modal-frame");
    if (box.hidden) { return; }
    box.hidden = true;
    var id = iframe.dataset.runtimeId;
    if (id && frames[id]) { window.clearTimeout(frames[id].timer); delete frames[id]; }
    iframe.removeAttribute("src");
    delete iframe.dataset.runtimeId;
    root.dataset.modalState = "closed";
    if (pendingModal) {
      var pending = pendingModal;
      pendingModal = null;
      if (frames[pending.opener.id] === pending.opener) { emit(pending.opener, "close_custom_modal"); }
      pending.resolve({ status: status || "closed" });
    }
  }

  function openModal(opener, args) {
    if (args.type !== "custom_modal") {
      // Pipedrive's own deal/person/organization/activity and JSON modals are not simulated.
      showSnackbar({ message: "Sandbox: modal type '" + args.type + "' is not simulated" });
      return Promise.resolve({ status: "closed" });
    }
    if (pendingModal) { return Promise.reject(new Error("A modal is already open")); }
    var url = cfg.modalUrl + "&action_id=" + encodeURIComponent(args.action_id == null ? "" : String(args.action_id)) +
      "&deal_id=" + encodeURIComponent(cfg.dealId) + "&theme=" + encodeURIComponent(cfg.theme || "light");
    if (cfg.modalOverride) { url += "&modal_url=" + encodeURIComponent(cfg.modalOverride); }
    return fetchJson(url).then(function (answer) {
      var iframe = document.getElementById("pd-modal-frame");
      var src = answer.src;
      if (args.data) { src += "&data=" + encodeURIComponent(JSON.stringify(args.data)); }
      iframe.dataset.runtimeId = runtimeId(src);
      register(iframe, "modal", src);
      iframe.src = src;
      root.dataset.modalState = "open";
      document.getElementById("pd-modal").hidden = false;
      return new Promise(function (resolve) { pendingModal = { resolve: resolve, opener: opener }; });
    }, function (error) {
      root.dataset.modalState = "refused";
      throw error;
    });
  }

  var handlers = {
    initialize: function (frame, args) {
      frame.initialized = true;
      window.clearTimeout(frame.timer);
      applySize(frame, args.size);
      root.dataset[frame.kind === "panel" ? "panelState" : "modalState"] = "initialized";
      return null;
    },
    resize: function (frame, args) { applySize(frame, args); return null; },
    get_signed_token: function (frame) {
      return fetchJson(cfg.tokenUrl + "&extension=" + frame.kind).then(function (answer) { return { token: answer.token }; });
    },
    show_snackbar: function (frame, args) { showSnackbar(args); return null; },
    show_confirmation: function (frame, args) { return showConfirmation(args); },
    open_modal: function (frame, args) { return openModal(frame, args); },
    close_modal: function (frame) {
      if (frame.kind !== "modal") { throw new Error("close_modal applies to custom modals only"); }
      closeModal("closed");
      return null;
    },
    redirect_to: function () { return null; },
    show_floating_window: function () { return null; },
    hide_floating_window: function () { return null; },
    set_notification: function () { return null; },
    set_focus_mode: function () { return null; },
    get_metadata: function () { return { windowHeight: window.innerHeight, windowWidth: window.innerWidth }; }
  };

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (!message || typeof message !== "object" || !message.payload || !message.id) { return; }
    var frame = frames[message.id];
    if (!frame || frame.timedOut || event.source !== frame.iframe.contentWindow) { return; }
    var payload = message.payload;
    var port = event.ports && event.ports[0];
    logMessage(frame, payload);
    if (payload.type === "track") { return; }
    if (payload.type === "listener") {
      if (port) { (frame.listeners[payload.event] = frame.listeners[payload.event] || []).push(port); }
      return;
    }
    if (payload.type !== "command") { reply(port, { error: "Unknown message type" }); return; }
    var handler = handlers[payload.command];
    if (!handler) { reply(port, { error: "Unknown command: " + payload.command }); return; }
    if (!frame.initialized && payload.command !== "initialize") { reply(port, { error: "SDK is not initialized" }); return; }
    Promise.resolve()
      .then(function () { return handler(frame, payload.args || {}); })
      .then(function (data) { reply(port, { data: data }); }, function (error) { reply(port, { error: String((error && error.message) || error) }); });
  });

  // Test hook: deliver an event to every frame of a kind, as Pipedrive would.
  state.emitTo = function (kind, event, data) {
    Object.keys(frames).forEach(function (id) { if (frames[id].kind === kind) { emit(frames[id], event, data); } });
  };

  // The user's X closes the modal at once (Pipedrive's own control); the opener is told afterwards.
  document.getElementById("pd-modal-close").addEventListener("click", function () { closeModal("closed"); });

  // Register before loading, so the SDK's first message cannot arrive before we listen.
  var panel = document.getElementById("pd-panel");
  register(panel, "panel", panel.dataset.src);
  panel.src = panel.dataset.src;
})();
