/* The create-invoice modal: the deal's draft (GET /deals/<id>/draft), QBO customer and item links
 * with search boxes, pre-flight problems next to their fields, create with an idempotency key. */
(function () {
  "use strict";
  var P = window.QboPanel;
  var t = P.t, el = P.el;
  var dealId = P.config.dealId;
  var root = document.getElementById("modal");
  var form = document.getElementById("invoice-form");
  var draft = null;
  var idempotencyKey = null; // kept across retries of the same submit; dropped when QBO surely made nothing
  var preflightTimer = null;
  var preflightSeq = 0;
  var submitting = false;

  function $(id) { return document.getElementById(id); }

  function setState(name) {
    root.dataset.state = name;
    root.setAttribute("aria-busy", name === "loading" || name === "submitting" ? "true" : "false");
    $("loading").hidden = name !== "loading";
  }

  function notice(message) {
    var box = $("notice");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // -- form <-> draft -------------------------------------------------------------------------

  function path(obj, dotted) {
    return dotted.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }

  function setPath(obj, dotted, value) {
    var keys = dotted.split(".");
    var last = keys.pop();
    var target = keys.reduce(function (o, k) { return o[k]; }, obj);
    target[last] = value;
  }

  function fillForm() {
    Array.prototype.forEach.call(form.querySelectorAll("[name]"), function (input) {
      var value = path(draft, input.name);
      if (input.type === "checkbox") { input.checked = Boolean(value); }
      else { input.value = value == null ? "" : value; }
    });
  }

  function readForm() {
    Array.prototype.forEach.call(form.querySelectorAll("[name]"), function (input) {
      var value = input.type === "checkbox" ? input.checked : input.value.trim();
      if (input.name === "currency") { value = value.toUpperCase(); }
      setPath(draft, input.name, value);
    });
    return draft;
  }

  // -- customer ---------------------------------------------------------------------------------

  function renderCustomer() {
    var linked = Boolean(draft.customer.qbo_customer_id);
    var name = draft.customer.qbo_customer_name || draft.customer.name || draft.customer.qbo_customer_id;
    var reason = draft.customer.qbo_customer_name ? "linked" : draft.customer.suggestion_reason;
    var message = !linked ? t("will_create_customer")
      : reason === "email" ? t("suggested_email", { name: name })
      : reason === "name" ? t("suggested_name", { name: name })
      : t("linked_customer", { name: name });
    if (linked && draft.customer.suggestion_active === false && !draft.customer.qbo_customer_name) {
      message += " " + t("inactive_customer");
    }
    $("customer-state").textContent = message;
    $("customer-state").dataset.linked = linked ? "true" : "false";
    $("update-customer-row").hidden = !linked;
    $("customer-new").hidden = !linked;
  }

  function searchBox(input, list, endpoint, describe, choose) {
    var run = debounce(function () {
      var q = input.value.trim();
      P.api("GET", endpoint + "?q=" + encodeURIComponent(q)).then(function (answer) {
        list.textContent = "";
        var results = answer.data.results;
        if (!results.length) { list.appendChild(el("li", { className: "muted", text: t("no_results") })); }
        results.forEach(function (result, index) {
          list.appendChild(el("li", { role: "option", id: list.id + "-" + index, "data-id": result.id, tabindex: "-1",
            onclick: function () { choose(result); close(); },
            onkeydown: function (event) { if (event.key === "Enter") { event.preventDefault(); choose(result); close(); } }
          }, [el("strong", { text: result.name }), " ", el("span", { className: "muted", text: describe(result) })]));
        });
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        P.fit();
      }, function (error) { notice(error.message); });
    }, 250);
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.value = ""; P.fit(); }
    input.addEventListener("input", run);
    input.addEventListener("focus", run);
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { var first = list.querySelector("[role=option]"); if (first) { event.preventDefault(); first.focus(); } }
      if (event.key === "Escape") { close(); }
    });
    list.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
      var index = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < items.length - 1) { event.preventDefault(); items[index + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (index > 0 ? items[index - 1] : input).focus(); }
      if (event.key === "Escape") { close(); input.focus(); }
    });
  }

  // -- lines ------------------------------------------------------------------------------------

  function showTaxCodes() {
    return draft.lines.some(function (line) { return line.tax_code; }) || root.dataset.taxCodes === "true";
  }

  function itemCell(line, index) {
    var cell = el("td", { className: "item", "data-field": "lines[" + index + "].qbo_item_id" });
    if (line.qbo_item_id) {
      cell.appendChild(el("span", { className: "item-name", text: line.qbo_item_name || line.qbo_item_id }));
      cell.appendChild(el("button", { type: "button", className: "ghost small", text: t("change"),
        "aria-label": t("change") + ": " + line.name,
        onclick: function () { line.qbo_item_id = ""; line.qbo_item_name = ""; renderLines(); schedulePreflight(); } }));
      return cell;
    }
    var listId = "item-results-" + index;
    var input = el("input", { type: "search", autocomplete: "off", role: "combobox", "aria-expanded": "false",
      "aria-controls": listId, "aria-label": t("search_item") + ": " + line.name, placeholder: t("search_item") });
    var list = el("ul", { className: "results", id: listId, role: "listbox", hidden: true });
    var help = el("span", { className: "help", role: "img", tabindex: "0", title: t("item_help"), "aria-label": t("item_help"), text: "?" });
    cell.appendChild(el("div", { className: "search" }, [help, input, list]));
    searchBox(input, list, "quickbooks/items", function (r) { return r.unit_price != null ? String(r.unit_price) : r.type; }, function (item) {
      line.qbo_item_id = item.id;
      line.qbo_item_name = item.name;
      if (line.pipedrive_product_id) {
        // Remembered for this product, so its next invoice is linked already.
        P.api("PUT", "products/" + line.pipedrive_product_id + "/item", { qbo_item_id: item.id }).catch(function () {});
      }
      renderLines();
      schedulePreflight();
    });
    return cell;
  }

  // Every edit drops the line's Pipedrive sum and amounts: the server prices the lines as
  // confirmed (pre-flight answers with each line's amount, the total and the difference).
  function edited(line) {
    line.pipedrive_sum = null;
    line.error = "";
    line.total = "";
    draft.total = "";
    showAmounts();
    schedulePreflight();
  }

  function lineInput(line, key, label, index, extra) {
    var attrs = { value: line[key] == null ? "" : String(line[key]), "aria-label": label,
      "data-line-field": key, oninput: function (event) { line[key] = event.target.value.trim(); edited(line); } };
    Object.keys(extra || {}).forEach(function (name) { attrs[name] = extra[name]; });
    return el("input", attrs);
  }

  function numberInput(line, key, label, index) {
    return lineInput(line, key, label, index, { className: "num-input", inputmode: "decimal", autocomplete: "off" });
  }

  function removeLine(index) {
    var removed = draft.lines.splice(index, 1)[0];
    draft.total = "";
    renderLines();
    P.announce(t("line_removed", { line: removed.name }));
    schedulePreflight();
  }

  function renderLines() {
    var body = $("lines");
    body.textContent = "";
    var taxCodes = showTaxCodes();
    root.classList.toggle("with-tax-codes", taxCodes);
    draft.lines.forEach(function (line, index) {
      var at = "lines[" + index + "].";
      var taxInput = el("input", { className: "tax-code", value: line.tax_code || "", "aria-label": t("tax_code", { line: line.name }), size: "4",
        oninput: function (event) { line.tax_code = event.target.value.trim(); schedulePreflight(); } });
      var discountType = el("select", { "aria-label": t("line_discount_type", { line: line.name }), "data-line-field": "discount_type",
        onchange: function (event) { line.discount_type = event.target.value; edited(line); } }, [
        el("option", { value: "percentage", text: t("percent_off") }),
        el("option", { value: "amount", text: t("amount_off") })
      ]);
      discountType.value = line.discount_type === "amount" ? "amount" : "percentage";
      body.appendChild(el("tr", { "data-line": index }, [
        el("td", { "data-field": at + "description" }, [
          el("span", { className: "line-name", text: line.name }),
          lineInput(line, "description", t("line_description", { line: line.name }), index, { className: "description", maxlength: "4000" }),
          line.error ? el("p", { className: "error", text: line.error }) : null
        ]),
        itemCell(line, index),
        el("td", { className: "num", "data-field": at + "quantity" }, [numberInput(line, "quantity", t("line_quantity", { line: line.name }), index)]),
        el("td", { className: "num", "data-field": at + "item_price" }, [numberInput(line, "item_price", t("line_price", { line: line.name }), index)]),
        el("td", { className: "num", "data-field": at + "discount" }, [el("div", { className: "discount" }, [
          numberInput(line, "discount", t("line_discount", { line: line.name }), index), discountType])]),
        el("td", { className: "num", "data-field": at + "tax" }, [numberInput(line, "tax", t("line_tax", { line: line.name }), index)]),
        el("td", { className: "tax-code-col", "data-field": at + "tax_code" }, [taxCodes ? taxInput : null]),
        el("td", { className: "num amount", "data-field": at + "amount" }),
        el("td", {}, [el("button", { type: "button", className: "ghost small remove-line", text: "×",
          "aria-label": t("remove_line", { line: line.name }), title: t("remove"),
          onclick: function () { removeLine(index); } })])
      ]));
    });
    $("no-lines").hidden = draft.lines.length > 0;
    showAmounts();
  }

  function showAmounts() {
    var currency = draft.currency || "USD";
    Array.prototype.forEach.call($("lines").querySelectorAll("tr[data-line]"), function (row) {
      var line = draft.lines[Number(row.dataset.line)];
      row.querySelector(".amount").textContent = line && line.total ? P.money(line.total, currency) : t("pricing");
    });
    $("total").textContent = draft.total ? P.money(draft.total, currency) : t("pricing");
    // The deal's value and the difference, shown (never refused) when both are in one currency.
    var compare = Boolean(draft.deal_value) && String(draft.deal_currency || currency).toUpperCase() === String(currency).toUpperCase();
    Array.prototype.forEach.call(document.querySelectorAll(".deal-compare"), function (row) { row.hidden = !compare; });
    if (compare) {
      $("deal-value").textContent = P.money(draft.deal_value, currency);
      var known = Boolean(draft.total) && draft.difference !== "" && draft.difference != null;
      var difference = known ? Number(draft.difference) : null;
      $("difference").textContent = !known ? t("pricing") : difference === 0 ? t("same_as_deal")
        : (difference > 0 ? "+" : "") + P.money(draft.difference, currency);
      $("difference").dataset.difference = known ? draft.difference : "";
    }
    P.fit();
  }

  // Pre-flight's pricing of the confirmed lines: each line's amount, the total, the difference.
  function applyPricing(answer) {
    (answer.lines || []).forEach(function (priced, index) {
      var line = draft.lines[index];
      if (!line) { return; }
      line.total = priced.total || "";
      line.net = priced.net || "";
      line.tax_amount = priced.tax_amount || "";
    });
    draft.total = answer.total || "";
    draft.difference = answer.difference || "";
    showAmounts();
  }

  function addLine(item) {
    var taxMode = $("i-tax-mode").value;
    var line = {
      name: item.name, description: item.description || item.name, quantity: "1",
      item_price: item.unit_price != null ? String(item.unit_price) : "0",
      discount: "0", discount_type: "percentage", tax: "0", tax_method: taxMode,
      pipedrive_product_id: null, pipedrive_sum: null, qbo_item_id: item.id, qbo_item_name: item.name,
      tax_code: "", net: "", tax_amount: "", total: "", error: ""
    };
    draft.lines.push(line);
    draft.total = "";
    renderLines();
    P.announce(t("line_added", { line: item.name }));
    var row = $("lines").querySelector('tr[data-line="' + (draft.lines.length - 1) + '"] [data-line-field="quantity"]');
    if (row) { row.focus(); }
    schedulePreflight();
  }

  // -- problems ---------------------------------------------------------------------------------

  function clearProblems() {
    Array.prototype.forEach.call(document.querySelectorAll(".problem"), function (node) { node.remove(); });
    Array.prototype.forEach.call(document.querySelectorAll("[aria-invalid]"), function (node) {
      node.removeAttribute("aria-invalid");
      node.removeAttribute("aria-describedby");
    });
  }

  function showProblems(problems) {
    clearProblems();
    var general = [];
    problems.forEach(function (problem, n) {
      if (/tax_code$/.test(problem.field) && root.dataset.taxCodes !== "true") { root.dataset.taxCodes = "true"; renderLines(); }
      var holder = document.querySelector('[data-field="' + problem.field + '"]');
      if (!holder) { general.push(problem.message); return; }
      var id = "problem-" + n;
      holder.appendChild(el("p", { className: "problem", id: id, "data-code": problem.code, text: problem.message }));
      var input = holder.querySelector("input, select");
      if (input) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", id); }
    });
    notice(general.length ? general.join(" ") : (problems.length ? t("fix_problems") : ""));
    root.dataset.problems = String(problems.length);
    P.fit();
  }

  // Resolves with the answer when it is the latest check, null otherwise (or when it failed).
  function preflight() {
    var seq = ++preflightSeq;
    window.clearTimeout(preflightTimer);
    return P.api("POST", "deals/" + dealId + "/preflight", { draft: readForm() }).then(function (answer) {
      if (seq !== preflightSeq) { return null; }
      applyPricing(answer.data);
      showProblems(answer.data.problems);
      showWarnings(answer.data.warnings);
      return answer.data;
    }, function (error) {
      if (seq === preflightSeq) {
        if (error.status === 400 && Object.keys(error.fields || {}).length) {
          showProblems(Object.keys(error.fields).map(function (f) { return { field: f, code: "invalid", message: error.fields[f].join(" ") }; }));
        } else { notice(error.message); }
      }
      return null;
    });
  }

  function schedulePreflight() {
    window.clearTimeout(preflightTimer);
    preflightTimer = window.setTimeout(preflight, 400);
  }

  // -- submit -----------------------------------------------------------------------------------

  function submit(event) {
    event.preventDefault();
    if (submitting) { return; }
    submitting = true;
    idempotencyKey = idempotencyKey || P.uuid();
    var button = $("create");
    button.disabled = true;
    button.textContent = t("creating");
    setState("submitting");
    // Price the lines as they are now: the create bills them at the total the user sees here.
    preflight().then(function (checked) {
      if (!checked || !checked.ok) { return Promise.reject({ checked: true }); }
      return P.api("POST", "deals/" + dealId + "/invoices", { draft: readForm(), idempotency_key: idempotencyKey });
    }).then(function (answer) {
      var invoice = answer.data;
      var message = answer.status === 202 ? t("pending") : t("created", { number: invoice.doc_number || invoice.qbo_id });
      setState("created");
      edited = false;
      return P.snackbar(message, invoice.quickbooks_url ? { url: invoice.quickbooks_url, label: t("view") } : null).then(function () {
        return P.sdk().execute(P.SDK.Command.CLOSE_MODAL);
      });
    }, function (error) {
      if (error.checked) {
        // pre-flight found problems (now shown next to their fields): nothing was sent
      } else if (error.status === 400) {
        idempotencyKey = null; // refused before QuickBooks was asked: a corrected draft is a new submit
        showProblems(error.problems.length ? error.problems : Object.keys(error.fields).map(function (f) {
          return { field: f, code: "invalid", message: error.fields[f].join(" ") };
        }));
        if (!error.problems.length && !Object.keys(error.fields).length) { notice(error.message); }
      } else if (error.status === 0 || error.status >= 500) {
        notice(t("retry"));
      } else {
        notice(error.message);
      }
      setState("ready");
    }).then(function () {
      submitting = false;
      button.disabled = false;
      button.textContent = t("create");
    });
  }

  // -- issue 13: warnings, Escape, unsaved edits -------------------------------------------------

  /* Not a problem, a warning: the same deal already has an invoice with the same lines. */
  function showWarnings(warnings) {
    var box = $("duplicate-warning");
    box.textContent = (warnings || []).map(function (w) { return w.message; }).join(" ");
    box.hidden = !box.textContent;
    P.fit(900);
  }

  var edited = false;
  /* Only the user's own edits count: fillForm() sets values without input events. */
  function watchEdits() {
    form.addEventListener("input", function () { edited = true; });
    form.addEventListener("change", function () { edited = true; });
    // Escape closes the modal (capture phase: an Escape that closes a search list stays there).
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || event.defaultPrevented) { return; }
      if (event.target && event.target.closest && event.target.closest(".search")) { return; }
      if (document.querySelector(".results:not([hidden])")) { return; }
      event.preventDefault();
      requestClose();
    }, true);
  }

  /* Close, but ask first when the user changed something that was not saved as an invoice. */
  function requestClose() {
    if (submitting) { return Promise.resolve(); }
    var ask = edited
      ? P.confirm(t("discard_title"), t("discard"), t("discard_ok"), "negative")
      : Promise.resolve(true);
    return ask.then(function (confirmed) {
      if (confirmed) { return P.sdk().execute(P.SDK.Command.CLOSE_MODAL); }
      return null;
    });
  }

  // -- money loop: one invoice per instalment (GET/POST /deals/<id>/installments) ------------------

  var installments = [];

  function renderInstallments() {
    var list = $("installment-list");
    list.textContent = "";
    $("installments").hidden = !installments.length;
    var open = installments.filter(function (i) { return !i.invoice; });
    installments.forEach(function (item) {
      var label = (item.description || "—") + " · " + P.date(item.billing_date) + " · " + P.money(item.amount, draft.currency || "USD");
      var state = item.invoice
        ? el("span", { className: "installment-invoiced", text: t("installment_invoiced", { number: item.invoice.doc_number || ("#" + item.invoice.id) }) })
        : el("button", { type: "button", className: "ghost small", text: t("installment_create"), onclick: function () { createInstallments([item]); } });
      list.appendChild(el("li", { className: "installment", "data-installment-id": item.id, "data-invoiced": item.invoice ? "true" : "false" }, [label + " ", state]));
    });
    $("installments-create").hidden = !open.length;
    if (!open.length && installments.length) { $("installments-notice").textContent = t("installments_done"); }
    P.fit(900);
  }

  function loadInstallments() {
    return P.api("GET", "deals/" + dealId + "/installments").then(function (answer) {
      installments = answer.data.installments || [];
      renderInstallments();
    }, function () { installments = []; renderInstallments(); });  // no schedule: the modal is as before
  }

  /* One at a time, in schedule order; each is made once whatever is clicked again (the server
   * derives its key from the instalment), so a retry after an error just goes on. */
  function createInstallments(items) {
    if (submitting) { return Promise.resolve(); }
    submitting = true;
    $("installments-create").disabled = true;
    var made = 0;
    var chain = Promise.resolve();
    items.forEach(function (item) {
      chain = chain.then(function () {
        return P.api("POST", "deals/" + dealId + "/installments/" + item.id + "/invoice", { draft: readForm() }).then(function () { made += 1; });
      });
    });
    return chain.then(function () {
      $("installments-notice").textContent = t("installments_created", { count: made });
      edited = false;
    }, function (error) {
      if (error.problems && error.problems.length) { showProblems(error.problems); } else { notice(error.message); }
    }).then(function () {
      submitting = false;
      $("installments-create").disabled = false;
      return loadInstallments();
    });
  }

  // -- start ------------------------------------------------------------------------------------

  function start() {
    // CLOSE_CUSTOM_MODAL goes to the panel that opened us (it refreshes), not to this modal.
    return P.api("GET", "deals/" + dealId + "/draft").then(function (answer) {
      draft = answer.data;
      $("deal-title").textContent = draft.deal_title;
      fillForm();
      renderCustomer();
      renderLines();
      form.hidden = false;
      setState("ready");
      P.fit(900);
      loadInstallments();
      return preflight();
    }, function (error) {
      notice(error.message);
      setState("error");
    });
  }

  searchBox($("customer-q"), $("customer-results"), "quickbooks/customers", function (r) { return r.email || r.currency; }, function (customer) {
    draft.customer.qbo_customer_id = customer.id;
    draft.customer.qbo_customer_name = customer.name;
    if (!$("c-email").value && customer.email) { $("c-email").value = customer.email; }
    renderCustomer();
    schedulePreflight();
  });
  $("customer-new").addEventListener("click", function () {
    draft.customer.qbo_customer_id = "";
    draft.customer.update_in_quickbooks = false;
    $("update-customer").checked = false;
    renderCustomer();
    schedulePreflight();
  });
  form.addEventListener("input", function (event) { if (event.target.name) { schedulePreflight(); } });
  form.addEventListener("change", function (event) {
    if (event.target.name === "tax_mode") {
      // One tax treatment for the whole invoice, as Pipedrive has one per deal.
      draft.lines.forEach(function (line) { line.tax_method = event.target.value; line.pipedrive_sum = null; });
      draft.total = "";
      showAmounts();
    }
    if (event.target.name) { schedulePreflight(); }
  });
  searchBox($("add-item-q"), $("add-item-results"), "quickbooks/items", function (r) {
    return r.unit_price != null ? P.money(r.unit_price, draft.currency || "USD") + (r.description ? " · " + r.description : "") : r.type;
  }, addLine);
  form.addEventListener("submit", submit);
  $("cancel").addEventListener("click", requestClose);
  $("installments-create").addEventListener("click", function () {
    createInstallments(installments.filter(function (i) { return !i.invoice; }));
  });
  watchEdits();

  P.init({ height: 640, width: 880 }).then(start).catch(function (error) { notice(error.message || String(error)); });
})();
