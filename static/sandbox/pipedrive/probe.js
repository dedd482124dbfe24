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
  var inModal = new URLSearchParams(window.location.search).has("action_id");

  sdk.initialize({ size: { height: inModal ? 240 : 260 } })
    .then(function () {
      text("probe-status", "initialized");
      return sdk.execute(Command.GET_SIGNED_TOKEN);
    })
    .then(function (answer) {
      text("probe-claims", JSON.stringify(claimsOf(answer.token)));
      document.body.dataset.token = answer.token;
      text("probe-status", "ready");
      if (inModal) {
        sdk.listen(Event.CLOSE_CUSTOM_MODAL, function () {
          text("probe-status", "close requested");
          sdk.execute(Command.CLOSE_MODAL);
        });
      }
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
    sdk.execute(Command.OPEN_MODAL, { type: Modal.CUSTOM_MODAL, action_id: "create-invoice", data: { dealId: 1 } })
      .then(function (answer) { text("probe-modal", answer.status); });
  });
  document.getElementById("probe-close-modal").addEventListener("click", function () {
    sdk.execute(Command.CLOSE_MODAL);
  });
  document.getElementById("probe-resize").addEventListener("click", function () {
    sdk.execute(Command.RESIZE, { height: 400 });
  });
})();
