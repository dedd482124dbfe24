/* A minimal custom UI that drives the real, vendored SDK against the sandbox host. */
(function () {
  "use strict";
  var SDK = window.AppExtensionsSDK;
  var Command = SDK.Command;
  var Modal = SDK.Modal;
  var Event = SDK.Event;

  function text(id, value) { document.getElementById(id).textContent = value; }

  function claimsOf(token) {
    var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(window.atob(part + "===".slice((part.length + 3) % 4)));
  }

  var sdk = new SDK();
  text("probe-theme", sdk.userSettings.theme);
  // Opened by open_modal with `data`: we are the modal (the panel's iframe URL has none).
  var inModal = new URLSearchParams(window.location.search).has("data");
  var closed = 0;

  sdk.initialize({ size: { height: inModal ? 240 : 260 } })
    .then(function () {
      text("probe-status", "initialized");
      return sdk.execute(Command.GET_SIGNED_TOKEN);
    })
    .then(function (answer) {
      text("probe-claims", JSON.stringify(claimsOf(answer.token)));
      document.body.dataset.token = answer.token;
      text("probe-status", "ready");
      // Pipedrive tells the opener (this panel) after its custom modal closed.
      sdk.listen(Event.CLOSE_CUSTOM_MODAL, function () { closed += 1; text("probe-closed", String(closed)); });
    })
    .catch(function (error) { text("probe-status", "error: " + error.message); });

  document.getElementById("probe-snackbar").addEventListener("click", function () {
    sdk.execute(Command.SHOW_SNACKBAR, { message: "Invoice 1042 created", link: { url: "https://example.test/1042", label: "View" } });
  });
  document.getElementById("probe-confirm-btn").addEventListener("click", function () {
    sdk.execute(Command.SHOW_CONFIRMATION, { title: "Void invoice?", description: "This cannot be undone.", okText: "Void", cancelText: "Keep", okColor: "negative" })
      .then(function (answer) { text("probe-confirm", String(answer.confirmed)); });
  });
  document.getElementById("probe-open-modal").addEventListener("click", function () {
    sdk.execute(Command.OPEN_MODAL, { type: Modal.CUSTOM_MODAL, action_id: document.body.dataset.modalId, data: { dealId: 1 } })
      .then(function (answer) { text("probe-modal", answer.status); });
  });
  document.getElementById("probe-open-unknown").addEventListener("click", function () {
    sdk.execute(Command.OPEN_MODAL, { type: Modal.CUSTOM_MODAL, action_id: "create-invoice", data: { dealId: 1 } })
      .then(function (answer) { text("probe-modal", answer.status); }, function (error) { text("probe-modal", "error: " + error.message); });
  });
  document.getElementById("probe-close-modal").addEventListener("click", function () {
    sdk.execute(Command.CLOSE_MODAL);
  });
  document.getElementById("probe-resize").addEventListener("click", function () {
    sdk.execute(Command.RESIZE, { height: 400 });
  });
})();
