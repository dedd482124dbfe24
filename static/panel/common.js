/*
 * Shared by the deal panel and the create-invoice modal (Pipedrive custom UI extensions).
 * The SDK (vendored @pipedrive/app-extensions-sdk) talks to Pipedrive through postMessage; every
 * call to our panel API carries a fresh token from GET_SIGNED_TOKEN as Bearer, never a cookie.
 */
(function () {
  "use strict";

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  var config = readJson("panel-config");
  var text = readJson("panel-text");
  var SDK = window.AppExtensionsSDK;
  var sdk = null;

  function t(key, params) {
    var value = text[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      value = value.split("%(" + name + ")s").join(String(params[name]));
    });
    return value;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === "text") { node.textContent = value; }
      else if (name === "className") { node.className = value; }
      else if (name.indexOf("on") === 0) { node.addEventListener(name.slice(2), value); }
      else { node.setAttribute(name, value === true ? "" : value); }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
    });
    return node;
  }

  function announce(message) {
    var live = document.getElementById("live");
    if (live) { live.textContent = ""; window.setTimeout(function () { live.textContent = message; }, 50); }
  }

  function init(size) {
    sdk = new SDK();
    return sdk.initialize({ size: size }).then(function () { return sdk; });
  }

  function signedToken() {
    return sdk.execute(SDK.Command.GET_SIGNED_TOKEN).then(function (answer) { return answer.token; });
  }

  /* The JWT Pipedrive put on this iframe's URL (the server verified it to render this page): the
   * first read uses it, so it need not wait for the SDK handshake and a GET_SIGNED_TOKEN round trip. */
  var pageToken = new URLSearchParams(window.location.search).get("token");
  function firstToken() {
    var token = pageToken;
    pageToken = null;  // once: later calls ask Pipedrive for a fresh one
    return token ? Promise.resolve(token) : signedToken();
  }

  /* Live updates (panel.js) read about once a second: a new GET_SIGNED_TOKEN for each would cost a
   * round trip to Pipedrive and a signing per read. Such a token is valid 5 minutes (SDK README):
   * reuse it until a minute before, timed by our own clock from when it arrived, so a browser
   * clock that is off cannot make us send an expired token. */
  var REUSE_MARGIN_MS = 60000;
  var reused = null;
  function reusableToken() {
    if (reused && Date.now() < reused.until) { return Promise.resolve(reused.token); }
    return signedToken().then(function (token) {
      reused = { token: token, until: Date.now() + tokenLifetimeMs(token) - REUSE_MARGIN_MS };
      return token;
    });
  }

  function tokenLifetimeMs(token) {
    var seconds = 300;
    try {
      var claims = JSON.parse(window.atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      if (claims.exp && claims.iat) { seconds = Math.min(seconds, claims.exp - claims.iat); }
    } catch (e) { /* not a JWT we can read: assume the documented 5 minutes */ }
    return seconds * 1000;
  }

  function tokenFor(options) {
    if (options.pageToken) { return firstToken(); }
    return options.reuseToken ? reusableToken() : signedToken();
  }

  function ApiError(status, body) {
    var error = (body && body.error) || {};
    this.status = status;
    this.code = error.code || "";
    this.message = error.message || (body && body.detail) || ("HTTP " + status);
    this.fields = error.fields || {};
    this.problems = error.problems || [];
    this.body = body;
  }

  /* fetch() against /api/v1 with a fresh token; resolves with the body (or the Response when raw).
   * One request at a time per frame: answers arrive in the order the user acted (a late pre-flight
   * never overwrites a newer one), and a small server is never hit by a burst. */
  var queue = Promise.resolve();
  function api(method, path, body, options) {
    var run = function () { return request(method, path, body, options); };
    var result = queue.then(run, run);
    queue = result.catch(function () {});
    return result;
  }

  /* The last body of each GET with its ETag, per Pipedrive company and user, for this tab only:
   * a deal page reload then revalidates (If-None-Match) and gets a bodiless 304 when nothing changed. */
  function cacheKey(token, path) {
    try {
      var claims = JSON.parse(window.atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return "qbo-panel:" + claims.companyId + ":" + claims.userId + ":" + path;
    } catch (e) { return null; }
  }

  function remembered(key) {
    try { return key ? JSON.parse(window.sessionStorage.getItem(key) || "null") : null; } catch (e) { return null; }
  }

  function remember(key, etag, data) {
    if (!key || !etag) { return; }
    try { window.sessionStorage.setItem(key, JSON.stringify({ etag: etag, data: data })); } catch (e) { /* full or disabled */ }
  }

  function request(method, path, body, options) {
    options = options || {};
    var key = null;
    var held = null;
    return tokenFor(options).then(function (token) {
      var init = {
        method: method,
        credentials: "omit",
        headers: { Authorization: "Bearer " + token, Accept: options.raw ? "application/pdf, application/json" : "application/json" }
      };
      if (method === "GET" && !options.raw) {
        key = cacheKey(token, path);
        held = remembered(key);
        init.cache = "no-store";  // our own copy above is the cache; the browser's would Vary on the token
        if (held && held.etag) { init.headers["If-None-Match"] = held.etag; }
        if (options.live) { init.headers["X-Panel-Live"] = "1"; }  // a background revalidation, told apart in logs and tests
      }
      if (body !== undefined && body !== null) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return window.fetch("/api/v1/" + path, init).catch(function () {
        throw new ApiError(0, { error: { code: "offline", message: t("offline") } });
      });
    }).then(function (response) {
      if (options.raw && response.ok) { return response; }
      if (response.status === 304 && held) { return { status: 200, data: held.data, revalidated: true }; }
      return response.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
        if (response.status === 401 && options.reuseToken) { reused = null; }  // the next read asks for a new one
        if (!response.ok) { throw new ApiError(response.status, data); }
        if (key) { remember(key, response.headers.get("ETag"), data); }
        return { status: response.status, data: data };
      });
    });
  }

  function snackbar(message, link) {
    var args = { message: message };
    if (link && link.url) { args.link = link; }
    announce(message);
    return sdk.execute(SDK.Command.SHOW_SNACKBAR, args);
  }

  /* okColor: "negative" (red) for what destroys, "primary" for the rest (Send); SDK Color enum. */
  function confirm(title, description, okText, okColor) {
    return sdk.execute(SDK.Command.SHOW_CONFIRMATION, {
      title: title, description: description, okText: okText, cancelText: t("keep"), okColor: okColor || "negative"
    }).then(function (answer) { return Boolean(answer && answer.confirmed); });
  }

  var lastHeight = 0;
  function fit(max) {
    if (!sdk) { return; }
    var height = Math.min(max || 750, Math.max(100, document.documentElement.scrollHeight + 4));
    if (Math.abs(height - lastHeight) > 2) {
      lastHeight = height;
      sdk.execute(SDK.Command.RESIZE, { height: height });
    }
  }

  /* The user's formats: the server puts the locale on <html data-locale> (the page's language, with
   * the region of the user's Pipedrive locale: "uk-UA", "en-GB"), tenants/language.py format_locale. */
  function locale() {
    var root = document.documentElement;
    return root.getAttribute("data-locale") || root.lang || undefined;
  }

  /* Money in the invoice's currency: its own symbol and decimals (Intl knows JPY has none). */
  function money(amount, currency) {
    var number = Number(amount);
    try {
      return new Intl.NumberFormat(locale(), { style: "currency", currency: currency }).format(number);
    } catch (e) {
      return number.toFixed(2) + " " + currency;
    }
  }

  function date(iso) {
    if (!iso) { return "—"; }
    var parts = String(iso).slice(0, 10).split("-");
    var value = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    return value.toLocaleDateString(locale(), { year: "numeric", month: "short", day: "numeric" });
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  window.QboPanel = {
    config: config, t: t, el: el, init: init, api: api, ApiError: ApiError, snackbar: snackbar,
    confirm: confirm, fit: fit, money: money, date: date, locale: locale, uuid: uuid, announce: announce,
    sdk: function () { return sdk; }, SDK: SDK
  };
})();
