/*
 * Pipedrive sandbox: the native "Invoices" tab of the invoicing app extension.
 * Every piece of data comes from the app's reverse API, called server-side by the sandbox
 * (/sandbox/pipedrive/app/<domain>/invoicing/<endpoint name>), as Pipedrive's backend does.
 */
(function () {
  "use strict";

  var root = document.getElementById("pd-invoices-tab");
  if (!root || root.dataset.linked !== "true") { return; }
  var cfg = root.dataset;
  var state = { features: null, invoices: [], products: [], rates: [], accounts: [], key: null, busy: false };
  window.__pdInvoices = state;  // read by tests

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0; return (c === "x" ? r : (r & 0x3 | 0x8)).toString(16);
    });
  }
  function url(name, params) {
    var query = new URLSearchParams(cfg.query);
    Object.keys(params || {}).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== null && params[k] !== "") { query.set(k, params[k]); }
    });
    return cfg.base + "/" + name + "?" + query.toString();
  }
  function api(name, params, body, extraHeaders) {
    var headers = { "Accept": "application/json", "X-CSRFToken": cfg.csrf };
    var init = { method: "GET", headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      init.method = name.indexOf("put") === 0 ? "PUT" : "POST";
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
    return fetch(url(name, params), init).then(function (response) {
      return response.json().then(function (payload) {
        if (!payload.success) { var error = new Error(payload.error || "Error"); error.payload = payload; throw error; }
        return payload.data;
      });
    });
  }
  function showError(node, error) {
    node.textContent = error ? error.message : "";
    node.hidden = !error;
  }
  function money(value, currency) { return Number(value).toFixed(2) + " " + (currency || ""); }

  // -- account and list ------------------------------------------------------------------------

  function loadAccount() {
    return api("getProviderAccount").then(function (status) {
      state.features = status.features || null;
      var line = $("pd-inv-account");
      line.textContent = "";
      if (status.authorized) {
        line.textContent = "QuickBooks: " + (status.name || "") + " (" + status.orgId + ")";
      } else {
        line.textContent = "QuickBooks is not connected (" + (status.name || "") + "). ";
        api("getProviderAccountConnectUrl").then(function (data) {
          line.appendChild(el("a", { href: data.url, target: "_top", id: "pd-inv-reconnect" }, "Reconnect"));
        });
        $("pd-inv-new").disabled = true;
      }
      root.dataset.authorized = String(!!status.authorized);
    });
  }

  function actionButton(invoice, action) {
    var button = el("button", { type: "button", "class": "pd-button", "data-action": action.id }, action.label);
    if (action.requireConfirmation === "destructive") { button.classList.add("pd-danger"); }
    button.addEventListener("click", function () { runAction(invoice, action); });
    return button;
  }

  function runAction(invoice, action) {
    var error = $("pd-inv-error");
    showError(error, null);
    if (action.requireConfirmation && !window.confirm(action.label + " " + (invoice.invoiceNumber || "") + "?")) { return; }
    if (action.providerAction === "downloadInvoice") {
      window.open(url("getInvoicePDF", { invoiceId: invoice.id }), "_blank");
      return;
    }
    if (action.providerAction === "openInvoiceLink") {
      window.open(invoice.providerInvoiceUrl, "_blank");
      return;
    }
    var call = action.providerAction === "sendInvoiceEmail"
      ? api("postInvoiceEmail", { invoiceId: invoice.id }, {})
      : api("postInvoiceStatus", { invoiceId: invoice.id }, { id: action.id });
    call.then(function () { notice(action.label + ": " + (invoice.invoiceNumber || invoice.id)); return loadList(); })
      .catch(function (e) { showError(error, e); });
  }

  function share(invoice) {
    api("getInvoiceShareUrl", { invoiceId: invoice.id }).then(function (data) {
      notice("Share link: " + data.url);
    }).catch(function (e) { showError($("pd-inv-error"), e); });
  }

  function notice(text) {
    var line = $("pd-inv-account");
    root.dataset.notice = text;
    line.dataset.notice = text;
    var existing = document.getElementById("pd-inv-notice");
    if (!existing) { existing = el("p", { id: "pd-inv-notice", role: "status" }); line.after(existing); }
    existing.textContent = text;
  }

  function renderList() {
    var body = $("pd-inv-list").tBodies[0];
    body.textContent = "";
    if (!state.invoices.length) {
      var empty = el("tr", { "class": "pd-inv-empty" });
      empty.appendChild(el("td", { colspan: "7", "class": "pd-muted" }, "No invoices on this deal yet."));
      body.appendChild(empty);
    }
    state.invoices.forEach(function (invoice) {
      var row = el("tr", { "data-invoice-id": invoice.id, "data-status": invoice.pipedriveStatusCode });
      row.appendChild(el("td", {}, invoice.invoiceNumber || "—"));
      row.appendChild(el("td", {}, invoice.contactName));
      var status = el("td");
      status.appendChild(el("span", {
        "class": "pd-inv-status", "data-code": invoice.pipedriveStatusCode,
        "data-overdue": String(invoice.statusCode === "overdue")
      }, invoice.statusLabel));
      row.appendChild(status);
      row.appendChild(el("td", {}, money(invoice.total, invoice.currencyCode)));
      row.appendChild(el("td", {}, money(invoice.dueAmount, invoice.currencyCode)));
      row.appendChild(el("td", {}, invoice.dueDate || ""));
      var actions = el("td", { "class": "pd-inv-actions" });
      invoice.actions.forEach(function (action) { actions.appendChild(actionButton(invoice, action)); });
      if (invoice.isShareable) {
        var button = el("button", { type: "button", "class": "pd-button", "data-action": "SHARE" }, "Share link");
        button.addEventListener("click", function () { share(invoice); });
        actions.appendChild(button);
      }
      row.appendChild(actions);
      body.appendChild(row);
    });
  }

  function loadList() {
    return api("getSearchInvoices").then(function (invoices) {
      state.invoices = invoices;
      renderList();
      root.dataset.loaded = "true";
    }).catch(function (e) { showError($("pd-inv-error"), e); });
  }

  // -- summary ---------------------------------------------------------------------------------

  function loadContactsFor(select, name, keep) {
    return api("getSearchContacts", { name: name || "" }).then(function (contacts) {
      var current = select.value;
      Array.prototype.slice.call(select.options).forEach(function (o) { if (o.value) { o.remove(); } });
      contacts.forEach(function (c) { select.appendChild(el("option", { value: c.id }, c.displayName)); });
      if (keep && current) { select.value = current; }
      select.dataset.search = name || "";
      return contacts;
    });
  }

  $("pd-inv-summary-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = new FormData(event.target);
    var params = {};
    form.forEach(function (v, k) { params[k] = v; });
    api("getInvoiceSummary", params).then(function (rows) {
      var body = $("pd-inv-summary").tBodies[0];
      body.textContent = "";
      rows.forEach(function (r) {
        var tr = el("tr", { "data-currency": r.currency });
        [r.currency, money(r.outstanding), money(r.overdue), money(r.paid), money(r.total)].forEach(function (v) {
          tr.appendChild(el("td", {}, v));
        });
        body.appendChild(tr);
      });
      root.dataset.summary = JSON.stringify(rows);
    }).catch(function (e) { showError($("pd-inv-error"), e); });
  });

  // -- the "+ Invoice" modal: the fields of InvoiceCreateData ----------------------------------

  var form = $("pd-inv-form");

  function fillSelect(select, items, label, blank) {
    select.textContent = "";
    if (blank !== undefined) { select.appendChild(el("option", { value: "" }, blank)); }
    items.forEach(function (item) { select.appendChild(el("option", { value: item.id }, label(item))); });
  }

  function openModal() {
    showError($("pd-inv-form-error"), null);
    $("pd-inv-form-fields").textContent = "";
    state.key = uuid();  // one idempotency key per modal: a double click creates one invoice
    var features = state.features;
    var modes = [["Exclusive", "taxExclusive", "Tax exclusive"], ["Inclusive", "taxInclusive", "Tax inclusive"], ["NoTax", "noTax", "No tax"]];
    var modeSelect = $("pd-inv-taxmode");
    modeSelect.textContent = "";
    modes.forEach(function (m) {
      if (features.invoiceTaxModeOptions[m[1]]) { modeSelect.appendChild(el("option", { value: m[0] }, m[2])); }
    });
    var single = features.invoiceTaxOption === "single";
    $("pd-inv-taxrate-label").classList.toggle("pd-inv-hidden", !single);
    Array.prototype.forEach.call(form.querySelectorAll(".pd-inv-line-tax"), function (cell) {
      cell.classList.toggle("pd-inv-hidden", single);
    });
    if (!$("pd-inv-issue").value) { $("pd-inv-issue").value = new Date().toISOString().slice(0, 10); }
    $("pd-inv-modal").hidden = false;
    root.dataset.modal = "loading";
    // One call after the other: the demo's SQLite sandbox serves one writer at a time.
    var all = [];
    var calls = [
      function () { return api("getCurrencies"); }, function () { return api("getTaxRates"); },
      function () { return api("getAccounts"); }, function () { return api("getSearchProducts", { name: "" }); },
      function () { return loadContactsFor($("pd-inv-contact"), $("pd-inv-contact-search").value, true); }
    ];
    return calls.reduce(function (chain, next) {
      return chain.then(function () { return next().then(function (data) { all.push(data); }); });
    }, Promise.resolve()).then(function () {
      var currencies = all[0];
      state.rates = all[1]; state.accounts = all[2]; state.products = all[3];
      var currency = $("pd-inv-currency");
      fillSelect(currency, currencies, function (c) { return c.id + " — " + c.name; });
      if (currencies.some(function (c) { return c.id === currency.dataset.dealCurrency; })) { currency.value = currency.dataset.dealCurrency; }
      Array.prototype.forEach.call(form.querySelectorAll("select.pd-inv-taxrate"), function (select) {
        fillSelect(select, state.rates, function (r) { return r.name + " (" + r.rate + " %)"; }, "—");
      });
      Array.prototype.forEach.call(form.querySelectorAll("tr.pd-inv-line"), function (row) {
        var products = row.querySelector(".pd-inv-product");
        fillSelect(products, state.products, function (p) { return p.name; }, "— link a QuickBooks product —");
        var name = (row.dataset.name || "").toLowerCase();
        var match = state.products.filter(function (p) { return p.name.toLowerCase() === name; })[0] ||
          state.products.filter(function (p) { return name && (name.indexOf(p.name.toLowerCase()) >= 0 || p.name.toLowerCase().indexOf(name) >= 0); })[0];
        if (match) { products.value = match.id; }
        var accounts = row.querySelector(".pd-inv-account");
        fillSelect(accounts, state.accounts, function (a) { return a.name; });
        var syncAccount = function () {
          var product = state.products.filter(function (p) { return p.id === products.value; })[0];
          if (product && product.accountId) { accounts.value = product.accountId; }
        };
        products.addEventListener("change", syncAccount);
        syncAccount();
        var tax = row.querySelector("select.pd-inv-taxrate");
        var wanted = Number(tax.dataset.rate || 0);
        var rate = state.rates.filter(function (r) { return Number(r.rate) === wanted; })[0];
        if (rate) { tax.value = rate.id; }
      });
      root.dataset.modal = "open";
    }).catch(function (e) { showError($("pd-inv-form-error"), e); root.dataset.modal = "error"; });
  }

  function closeModal() { $("pd-inv-modal").hidden = true; root.dataset.modal = "closed"; }

  function valueOrNull(value) { return value === "" || value === undefined ? null : value; }
  function numberOrNull(value) { return value === "" ? null : Number(value); }

  function createData() {
    var data = new FormData(form);
    var single = state.features.invoiceTaxOption === "single";
    var lines = Array.prototype.map.call(form.querySelectorAll("tr.pd-inv-line"), function (row) {
      function field(name) { return row.querySelector("[name='" + name + "']").value; }
      return {
        productId: valueOrNull(field("productId")), productCode: null, description: field("description"),
        quantity: numberOrNull(field("quantity")), unitPrice: numberOrNull(field("unitPrice")),
        discountRate: numberOrNull(field("discountRate")),
        taxRateId: single ? null : valueOrNull(field("taxRateId")), accountId: valueOrNull(field("accountId"))
      };
    });
    return {
      contactId: valueOrNull(data.get("contactId")), contactName: data.get("contactName") || "",
      address: data.get("address") || "", email: data.get("email") || "", taxNumber: data.get("taxNumber") || "",
      taxModeId: data.get("taxModeId"), globalDiscount: null,
      taxRateId: single ? valueOrNull(form.querySelector("#pd-inv-taxrate-label select").value) : null,
      templateId: null, currencyId: valueOrNull(data.get("currencyId")), invoiceNumber: valueOrNull(data.get("invoiceNumber")),
      issueDate: data.get("issueDate"), dueDate: valueOrNull(data.get("dueDate")), lineItems: lines
    };
  }

  function markFields(fields) {
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (n) { n.removeAttribute("aria-invalid"); });
    var list = $("pd-inv-form-fields");
    list.textContent = "";
    Object.keys(fields || {}).forEach(function (name) {
      (fields[name].length ? fields[name] : [name]).forEach(function (message) {
        list.appendChild(el("li", { "data-field": name }, name + ": " + message));
      });
      var line = /^lineItems\[(\d+)\]\.(\w+)$/.exec(name);
      var target = line
        ? (form.querySelectorAll("tr.pd-inv-line")[Number(line[1])] || form).querySelector("[name='" + line[2] + "']")
        : form.querySelector("[name='" + name + "']");
      if (target) { target.setAttribute("aria-invalid", "true"); }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy) { return; }
    state.busy = true;
    $("pd-inv-submit").disabled = true;
    showError($("pd-inv-form-error"), null);
    api("postInvoice", {}, createData(), { "Idempotency-Key": state.key }).then(function (invoice) {
      closeModal();
      notice("Invoice " + (invoice.invoiceNumber || invoice.id) + " created");
      return loadList();
    }).catch(function (e) {
      showError($("pd-inv-form-error"), e);
      markFields(e.payload && e.payload.fields);
    }).then(function () { state.busy = false; $("pd-inv-submit").disabled = false; });
  });

  $("pd-inv-contact").addEventListener("change", function (event) {
    var option = event.target.selectedOptions[0];
    if (event.target.value && option) { form.querySelector("[name='contactName']").value = option.textContent; }
  });
  $("pd-inv-contact-search").addEventListener("change", function () {
    loadContactsFor($("pd-inv-contact"), $("pd-inv-contact-search").value, true);
  });
  $("pd-inv-new").addEventListener("click", openModal);
  $("pd-inv-cancel").addEventListener("click", closeModal);
  $("pd-inv-refresh").addEventListener("click", loadList);

  loadAccount().then(loadList).then(function () {
    return loadContactsFor($("pd-inv-summary-contact"), "", false);
  }).catch(function (e) { showError($("pd-inv-error"), e); });
})();
