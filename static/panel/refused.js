/* A refused panel or modal (bad token, app not installed, no deal) still initialises the SDK:
 * Pipedrive does not display an iframe that has not initialised within 10 seconds, and the user
 * should read why instead of seeing nothing. No token, no API calls: just the handshake and a size. */
(function () {
  "use strict";
  var SDK = window.AppExtensionsSDK;
  if (!SDK) { return; }
  var sdk;
  try {
    sdk = new SDK();  // throws without the runtime `id`: opened outside Pipedrive, nothing to tell
  } catch (e) {
    return;
  }
  var height = Math.min(750, Math.max(100, document.documentElement.scrollHeight + 4));
  var size = document.body.dataset.extension === "modal" ? { height: Math.max(120, height), width: 480 } : { height: height };
  sdk.initialize({ size: size }).then(function () {
    document.getElementById("panel").dataset.sdk = "initialized";
  }, function () {});
})();
