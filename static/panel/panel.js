/* The deal panel: the deal's invoices, their actions and history, a per-currency summary, and all
 * invoices of the deal's contact. Data from /api/v1 (see invoices/apis.py). */
(function () {
  "use strict";
  var P = window.QboPanel;
  var t = P.t, el = P.el;
  var dealId = P.config.dealId;
  var root = document.getElementById("panel");
  var state = { connection: null, busy: false };

  function $(id) { return document.getElementById(id); }

  function setState(name) {
    root.dataset.state = name;
    root.setAttribute("aria-busy", name === "loading" ? "true" : "false");
    $("loading").hidden = name !== "loading";
    window.setTimeout(P.fit, 0);
    // "panel-<state>" in the Performance timeline: make bench reads the time to "panel ready" from it.
    if (window.performance && performance.mark) { performance.mark("panel-" + name); }
  }

  function notice(message, link) {
    var box = $("notice");
    box.textContent = "";
    if (!message) { box.hidden = true; return; }
    box.appendChild(el("span", { text: message }));
    if (link) {
      box.appendChild(document.createTextNode(" "));
      box.appendChild(el("a", { href: link.url, target: "_blank", rel: "noopener", text: link.label }));
    }
    box.hidden = false;
  }

  function flag(invoice) {
    return el("span", { className: "flag flag-" + invoice.status, "data-status": invoice.status, text: invoice.status_label });
  }

  function number(invoice) {
    return invoice.doc_number || invoice.qbo_id || "—";
  }

  function closeMenus(except) {
    Array.prototype.forEach.call(document.querySelectorAll(".menu"), function (menu) {
      if (menu !== except) {
        menu.hidden = true;
        var button = document.querySelector('[aria-controls="' + menu.id + '"]');
        if (button) { button.setAttribute("aria-expanded", "false"); }
      }
    });
  }

  function menuFor(invoice) {
    var id = "menu-" + invoice.id;
    var order = ["send", "send_to", "pdf", "open_in_quickbooks", "void", "delete"];
    var actions = order.filter(function (a) { return invoice.actions.indexOf(a === "send_to" ? "send" : a) !== -1; });
    if (!actions.length) { return null; }
    var menu = el("ul", { className: "menu", id: id, role: "menu", hidden: true });
    actions.forEach(function (action) {
      var item = el("button", {
        type: "button", role: "menuitem", className: action === "void" || action === "delete" ? "danger" : "",
        "data-action": action, text: t(action),
        onclick: function () { closeMenus(); act(invoice, action); }
      });
      menu.appendChild(el("li", { role: "none" }, [item]));
    });
    var button = el("button", {
      type: "button", className: "more", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": id,
      "aria-label": t("actions", { number: number(invoice) }), text: "…",
      onclick: function (event) {
        event.stopPropagation();
        var open = menu.hidden;
        closeMenus(menu);
        menu.hidden = !open;
        button.setAttribute("aria-expanded", String(open));
        if (open) { menu.querySelector("button").focus(); }
        P.fit();
      }
    });
    menu.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(menu.querySelectorAll("button"));
      var index = items.indexOf(document.activeElement);
      if (event.key === "Escape") { closeMenus(); button.focus(); }
      else if (event.key === "ArrowDown") { event.preventDefault(); items[(index + 1) % items.length].focus(); }
      else if (event.key === "ArrowUp") { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    });
    return el("div", { className: "menu-wrap" }, [button, menu]);
  }

  function historyOf(invoice) {
    if (!invoice.history || !invoice.history.length) { return null; }
    var list = el("ol", { className: "history" });
    invoice.history.forEach(function (event) {
      var when = new Date(event.created_at).toLocaleString(P.locale(), { dateStyle: "medium", timeStyle: "short" });
      list.appendChild(el("li", {}, [
        el("time", { datetime: event.created_at, text: when }), " ",
        event.message, event.actor ? " · " + event.actor : ""
      ]));
    });
    return el("details", { className: "history-box" }, [el("summary", { text: t("history") }), list]);
  }

  /* Money loop: the QuickBooks payments (and credit applied) of an invoice, under it. */
  function paymentsOf(invoice) {
    if (!invoice.payments || !invoice.payments.length) { return null; }
    var list = el("ul", { className: "payments" });
    invoice.payments.forEach(function (payment) {
      var parts = [P.date(payment.date), " · ", P.money(payment.amount, payment.currency)];
      if (Number(payment.credit_applied) > 0) {
        parts.push(" + " + P.money(payment.credit_applied, payment.currency) + " " + t("credit_applied"));
        if (payment.credit_memos) { parts.push(" " + t("credit_memo_ref", { numbers: payment.credit_memos })); }
      }
      if (payment.method) { parts.push(" · " + payment.method); }
      if (payment.reference) { parts.push(" · " + t("payment_ref", { reference: payment.reference })); }
      list.appendChild(el("li", { className: "payment" }, parts));
    });
    return el("details", { className: "payments-box" }, [el("summary", { text: t("payments") }), list]);
  }

  function invoiceItem(invoice, options) {
    options = options || {};
    var amounts = [
      el("span", { className: "total", text: P.money(invoice.total, invoice.currency) }),
      Number(invoice.balance) > 0 && invoice.status !== "voided" && invoice.status !== "deleted" && invoice.balance !== invoice.total
        ? el("span", { className: "balance", text: t("balance") + " " + P.money(invoice.balance, invoice.currency) }) : null,
      el("span", { className: "due", text: t("due") + " " + P.date(invoice.due_date) })
    ];
    var head = el("div", { className: "invoice-head" }, [
      el("strong", { className: "number", text: "#" + number(invoice) }),
      flag(invoice),
      sentMark(invoice),
      options.compact ? null : menuFor(invoice)
    ]);
    var item = el("li", { className: "invoice", "data-invoice-id": invoice.id, "data-status": invoice.status }, [
      head,
      el("div", { className: "customer muted", text: invoice.customer_name }),
      el("div", { className: "amounts" }, amounts),
      invoice.last_error && invoice.state !== "created" ? el("p", { className: "error", text: invoice.last_error }) : null,
      options.compact ? null : paymentsOf(invoice),
      options.compact ? null : historyOf(invoice)
    ]);
    if (options.compact) {
      var linked = invoice.deal_ids.indexOf(dealId) !== -1;
      item.appendChild(el("button", {
        type: "button", className: "ghost small", "data-link": linked ? "unlink" : "link",
        text: linked ? t("unlink") : t("link"),
        onclick: function () { toggleLink(invoice, linked); }
      }));
    }
    return item;
  }

  function renderSummary(rows) {
    var box = $("summary");
    box.textContent = "";
    if (!rows || !rows.length) { box.hidden = true; return; }
    rows.forEach(function (row) {
      box.appendChild(el("dl", { className: "summary-row", "data-currency": row.currency }, [
        el("dt", { text: row.currency }),
        el("dd", {}, [el("span", { text: t("outstanding") + " " }), el("strong", { "data-kind": "outstanding", text: P.money(row.outstanding, row.currency) })]),
        Number(row.overdue) > 0 ? el("dd", { className: "overdue" }, [t("overdue") + " ", el("strong", { "data-kind": "overdue", text: P.money(row.overdue, row.currency) })]) : null,
        el("dd", {}, [t("paid") + " ", el("strong", { "data-kind": "paid", text: P.money(row.paid, row.currency) })])
      ]));
    });
    box.hidden = false;
  }

  /* Money loop: the "deal won" rule's flag ("Won, not invoiced: 2 problems"), above the list. */
  function renderWonFlag(won) {
    var old = document.getElementById("won-flag");
    if (old) { old.parentNode.removeChild(old); }
    if (!won || won.state === "invoiced") { return; }
    var box = el("div", { id: "won-flag", className: "won-flag won-" + won.state, role: "status", "data-state": won.state }, [
      el("strong", { text: won.label })
    ]);
    if (won.problems && won.problems.length) {
      var list = el("ul", {});
      won.problems.forEach(function (p) { list.appendChild(el("li", { text: p.message })); });
      box.appendChild(list);
    }
    $("invoices").parentNode.insertBefore(box, $("invoices"));
  }

  /* A render rebuilds the list, whoever asked for it (the first read, an action's reload, a live
   * read): what the user had open stays open — an invoice's "…" menu (if the invoice still offers
   * actions) and the history and payments they unfolded — so a reload landing just after a click
   * does not close what the click opened. */
  function openParts() {
    var menu = document.querySelector("#invoices .menu:not([hidden])");
    var boxes = Array.prototype.map.call(document.querySelectorAll("li[data-invoice-id] details[open]"), function (box) {
      return '[data-invoice-id="' + box.closest("li").dataset.invoiceId + '"] details.' + box.className.split(" ")[0];
    });
    return { menu: menu && menu.id, focused: menu && menu.contains(document.activeElement) ? document.activeElement.dataset.action : null, boxes: boxes };
  }

  function reopen(parts) {
    parts.boxes.forEach(function (selector) {
      var box = document.querySelector("#invoices " + selector + ", #deleted " + selector);
      if (box) { box.open = true; }
    });
    var menu = parts.menu && document.getElementById(parts.menu);
    if (!menu) { return; }
    menu.hidden = false;
    var button = document.querySelector('[aria-controls="' + menu.id + '"]');
    if (button) { button.setAttribute("aria-expanded", "true"); }
    var item = parts.focused && menu.querySelector('[data-action="' + parts.focused + '"]');
    if (item) { item.focus(); }
  }

  function render(data) {
    live.pending = null;  // whatever a live read held back is older than this
    state.connection = data.connection;
    var parts = openParts();
    var list = $("invoices");
    list.textContent = "";
    var shown = data.invoices.filter(function (i) { return i.status !== "deleted"; });
    shown.forEach(function (invoice) { list.appendChild(invoiceItem(invoice)); });
    renderDeleted(data.invoices.filter(function (i) { return i.status === "deleted"; }));
    reopen(parts);
    $("empty").hidden = data.invoices.length > 0;
    renderSummary(data.summary);
    renderWonFlag(data.won);
    var active = data.connection.status === "active";
    $("new-invoice").hidden = !active;
    $("refresh").hidden = !active;
    showContact(true);
    panelMenu(data.connection);
    if (data.connection.status === "needs_reconnect") {
      notice(t("reconnect"), { url: P.config.settingsUrl, label: t("reconnect_link") });
    } else {
      notice("");
    }
    setState("ready");
  }

  function failed(error) {
    showContact(false);
    panelMenu(null);
    $("deleted").hidden = true;
    $("new-invoice").hidden = true;
    $("refresh").hidden = true;
    $("invoices").textContent = "";
    $("summary").hidden = true;
    $("empty").hidden = true;
    if (error.code === "not_connected") {
      notice(error.message, { url: P.config.settingsUrl, label: t("connect") });
      setState("not-connected");
    } else if (error.code === "not_allowed_to_view") {
      notice(error.message);
      setState("not-allowed");
    } else if (error.code === "needs_reconnect") {
      notice(error.message, { url: P.config.settingsUrl, label: t("reconnect_link") });
      setState("needs-reconnect");
    } else {
      notice(t("error", { message: error.message }));
      setState("error");
    }
  }

  function load() {
    return P.api("GET", "deals/" + dealId + "/invoices").then(function (answer) { render(answer.data); }, failed);
  }

  function refresh() {
    var button = $("refresh");
    button.disabled = true;
    button.textContent = t("refreshing");
    return P.api("POST", "deals/" + dealId + "/refresh").then(function (answer) { render(answer.data); }, failed)
      .then(function () { button.disabled = false; button.textContent = t("refresh"); P.announce(t("refresh")); });
  }

  function download(invoice) {
    return P.api("GET", "invoices/" + invoice.id + "/pdf", null, { raw: true }).then(function (response) {
      return response.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var link = el("a", { href: url, download: "invoice-" + number(invoice) + ".pdf", hidden: true });
      document.body.appendChild(link);
      link.click();
      window.setTimeout(function () { URL.revokeObjectURL(url); link.remove(); }, 1000);
    });
  }

  function act(invoice, action) {
    var num = number(invoice);
    if (action === "open_in_quickbooks") {
      window.open(invoice.quickbooks_url, "_blank", "noopener");
      return Promise.resolve();
    }
    var run;
    if (action === "send_to") {
      openSendForm(invoice);
      return Promise.resolve();
    }
    if (action === "pdf") {
      run = download(invoice);
    } else {
      var ask = action === "send"
        ? P.confirm(t("confirm_send_title", { number: num }), t("confirm_send", { email: invoice.bill_email || "—" }), t("send"), "primary")
        : P.confirm(t("confirm_" + action + "_title", { number: num }), confirmText(invoice, action), t(action));
      run = ask.then(function (confirmed) {
        if (!confirmed) { return null; }
        return P.api("POST", "invoices/" + invoice.id + "/" + action, {}).then(function () {
          // Said once the list shows it: the reload and the message arrive together.
          return load().then(function () {
            P.snackbar(t({ void: "voided", delete: "deleted", send: "sent" }[action], { number: num }));
          });
        });
      });
    }
    return run.catch(function (error) { notice(t("error", { message: error.message })); P.fit(); });
  }

  /* Issue 13: voiding a (partly) paid invoice unlinks its payments; QBO keeps them as unapplied
   * credit on the customer. The confirmation says so before the user agrees. */
  function confirmText(invoice, action) {
    var received = Number(invoice.total) - Number(invoice.balance);
    if (action === "void" && received > 0 && (invoice.status === "paid" || invoice.status === "partially_paid")) {
      return t("confirm_void_paid", { amount: P.money(received, invoice.currency), customer: invoice.customer_name || "—" });
    }
    return t("confirm_" + action);
  }

  function loadContact(event) {
    if (event) { event.preventDefault(); }
    var query = "deal_id=" + dealId;
    var from = $("date-from").value, to = $("date-to").value;
    if (from) { query += "&date_from=" + from; }
    if (to) { query += "&date_to=" + to; }
    $("contact-notice").textContent = t("loading");
    return P.api("GET", "contact-invoices?" + query).then(function (answer) {
      var list = $("contact-invoices");
      list.textContent = "";
      answer.data.invoices.forEach(function (invoice) { list.appendChild(invoiceItem(invoice, { compact: true })); });
      renderBalance(answer.data.balance);
      $("contact-notice").textContent = answer.data.invoices.length ? "" : t("no_contact_invoices");
      P.fit();
    }, function (error) {
      $("contact-notice").textContent = (error.fields && error.fields.date_to) ? error.fields.date_to.join(" ") : error.message;
      P.fit();
    });
  }

  /* Money loop: the customer's open balance and unapplied credit (as last synced from QuickBooks). */
  function renderBalance(balance) {
    var box = $("contact-balance");
    box.textContent = "";
    box.hidden = !balance;
    if (!balance) { return; }
    box.appendChild(el("dt", { text: t("open_balance") }));
    box.appendChild(el("dd", { "data-kind": "open_balance", text: P.money(balance.open_balance, balance.currency || (state.connection && state.connection.home_currency) || "USD") }));
    box.appendChild(el("dt", { text: t("unapplied_credit") }));
    box.appendChild(el("dd", { "data-kind": "unapplied_credit", text: P.money(balance.unapplied_credit, balance.currency || (state.connection && state.connection.home_currency) || "USD") }));
  }

  function toggleLink(invoice, linked) {
    return P.api(linked ? "DELETE" : "PUT", "invoices/" + invoice.id + "/deals/" + dealId).then(function () {
      return Promise.all([load(), loadContact()]);
    }, function (error) { $("contact-notice").textContent = error.message; });
  }

  /* The modal is the one registered in Developer Hub: `action_id` is its ID (PIPEDRIVE_MODAL_ID).
   * The panel refreshes when Pipedrive tells it the modal closed (CLOSE_CUSTOM_MODAL, see listen below),
   * not when open_modal resolves: the SDK documents the event, not the promise's timing. */
  function openModal() {
    var S = P.SDK;
    return P.sdk().execute(S.Command.OPEN_MODAL, { type: S.Modal.CUSTOM_MODAL, action_id: P.config.modalId, data: { dealId: dealId } })
      .catch(function (error) { notice(t("error", { message: error.message || String(error) })); P.fit(); });
  }

  /* Issue 13: a "Sent" mark once QuickBooks e-mailed the invoice. */
  function sentMark(invoice) {
    if (!invoice.sent || invoice.status === "deleted" || invoice.status === "voided") { return null; }
    return el("span", { className: "sent-mark", "data-sent": "true", text: t("sent_mark") });
  }

  /* Issue 13: deleted invoices stay in the history but collapsed under one line. */
  function renderDeleted(invoices) {
    var box = $("deleted");
    box.textContent = "";
    box.hidden = !invoices.length;
    if (!invoices.length) { return; }
    var list = el("ul", { className: "invoices" });
    invoices.forEach(function (invoice) { list.appendChild(invoiceItem(invoice)); });
    box.appendChild(el("summary", { text: t("deleted_count", { count: invoices.length }) }));
    box.appendChild(list);
  }

  /* Issue 13: send to another address than the invoice's billing e-mail (QuickBooks' sendTo). */
  function openSendForm(invoice) {
    var item = document.querySelector('#invoices li[data-invoice-id="' + invoice.id + '"]');
    if (!item || item.querySelector(".send-form")) { return; }
    var input = el("input", { type: "email", name: "to", required: true, value: invoice.bill_email || "", id: "send-to-" + invoice.id, autocomplete: "email" });
    var cc = el("input", { type: "email", name: "cc", value: "", id: "send-cc-" + invoice.id, autocomplete: "email" });
    var problem = el("p", { className: "problem", role: "alert" });
    var form = el("form", { className: "send-form range" }, [
      el("label", { for: input.id }, [t("send_to_label"), input]),
      el("label", { for: cc.id }, [t("send_cc_label"), cc]),
      el("button", { type: "submit", className: "primary small", text: t("send") }),
      el("button", { type: "button", className: "ghost small", text: t("cancel"), onclick: function () { form.remove(); P.fit(); } }),
      problem
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      P.api("POST", "invoices/" + invoice.id + "/send", { to: input.value.trim(), cc: cc.value.trim() }).then(function () {
        P.snackbar(t("sent", { number: number(invoice) }));
        return load();
      }, function (error) {
        var fields = error.fields || {};
        problem.textContent = (fields.to || fields.cc) ? (fields.to || []).concat(fields.cc || []).join(" ") : error.message;
        P.fit();
      });
    });
    item.appendChild(form);
    input.focus();
    P.fit();
  }

  /* Issue 13: "View all invoices of this contact" on every deal, not only on deals that already
   * have an invoice: a contact's earlier invoices can then be linked to a new deal. */
  function showContact(visible) {
    $("contact").hidden = !visible;
  }

  /* Issue 13: the panel's own "…" menu: Settings, and Disconnect for the owner or an admin. */
  function panelMenu(connection) {
    $("panel-disconnect").hidden = !(connection && connection.may_disconnect && connection.status !== "not_connected");
  }

  function disconnect() {
    closeMenus();
    return P.confirm(t("confirm_disconnect_title"), t("confirm_disconnect"), t("disconnect"), "negative").then(function (confirmed) {
      if (!confirmed) { return null; }
      return P.api("POST", "connection/disconnect", {}).then(function () {
        P.snackbar(t("disconnected"));
        return load();
      });
    }).catch(function (error) { notice(t("error", { message: error.message })); P.fit(); });
  }

  /* Money loop: "Won, not invoiced" from the "…" menu, the same report as the page on our site
   * (GET /api/v1/won-not-invoiced); a deal opens in Pipedrive through the SDK, else in a new tab. */
  function openDeal(row, event) {
    event.preventDefault();
    var S = P.SDK;
    function newTab() { window.open(row.url, "_blank", "noopener"); }
    try {
      return P.sdk().execute(S.Command.REDIRECT_TO, { view: S.View.DEALS, id: row.deal_id }).catch(newTab);
    } catch (e) {  // the SDK not initialised (yet): execute throws rather than rejects
      newTab();
      return Promise.resolve();
    }
  }

  function loadWon(event) {
    if (event) { event.preventDefault(); }
    var query = [];
    if ($("won-from").value) { query.push("from=" + $("won-from").value); }
    if ($("won-to").value) { query.push("to=" + $("won-to").value); }
    $("won-notice").textContent = t("loading");
    return P.api("GET", "won-not-invoiced" + (query.length ? "?" + query.join("&") : "")).then(function (answer) {
      var data = answer.data, gaps = $("won-gaps"), rows = $("won-rows");
      $("won-from").value = data.date_from;
      $("won-to").value = data.date_to;
      gaps.textContent = "";
      rows.textContent = "";
      data.gaps.forEach(function (g) {
        gaps.appendChild(el("dt", { text: t("won_gap") + " " + g.currency }));
        gaps.appendChild(el("dd", { "data-currency": g.currency, text: P.money(g.gap, g.currency) }));
      });
      data.rows.forEach(function (row) {
        rows.appendChild(el("li", { className: "won-row", "data-deal-id": row.deal_id }, [
          el("a", { href: row.url, target: "_blank", rel: "noopener", text: row.title, onclick: function (e) { openDeal(row, e); } }),
          el("strong", { className: "won-gap", text: " " + P.money(row.gap, row.currency) }),
          el("div", { className: "muted small", text: t("won_row", {
            date: row.won_on ? P.date(row.won_on) : "—",
            invoiced: P.money(row.invoiced, row.currency), value: P.money(row.value, row.currency)
          }) })
        ]));
      });
      $("won-notice").textContent = data.rows.length ? t("won_period", { from: P.date(data.date_from), to: P.date(data.date_to) }) : t("won_none");
      P.fit();
    }, function (error) {
      $("won-notice").textContent = (error.fields && error.fields.from) ? error.fields.from.join(" ") : error.message;
      P.fit();
    });
  }

  function showWon() {
    closeMenus();
    $("won-report").hidden = false;
    loadWon();
  }

  function wirePanelMenu() {
    var button = $("panel-more"), menu = $("panel-menu");
    button.addEventListener("click", function (event) {
      event.stopPropagation();
      var open = menu.hidden;
      closeMenus(menu);
      menu.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (open) { menu.querySelector("[role=menuitem]").focus(); }
      P.fit();
    });
    menu.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]")).filter(function (i) { return !i.hidden; });
      var index = items.indexOf(document.activeElement);
      if (event.key === "Escape") { closeMenus(); button.focus(); }
      else if (event.key === "ArrowDown") { event.preventDefault(); items[(index + 1) % items.length].focus(); }
      else if (event.key === "ArrowUp") { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    });
    $("panel-settings").addEventListener("click", function () { closeMenus(); });
    $("panel-disconnect").addEventListener("click", disconnect);
    $("panel-won").addEventListener("click", showWon);
    $("won-form").addEventListener("submit", loadWon);
    $("won-report-close").addEventListener("click", function () { $("won-report").hidden = true; P.fit(); });
  }

  /* Issue 13: status changes show up by themselves. While the panel is visible it revalidates the
   * deal's invoices about once a second (If-None-Match: a 304 costs one small query and no body, see
   * invoices/panel_reads.py) and re-renders only when the ETag changed. It backs off on errors,
   * pauses while hidden, and sleeps after LIVE_IDLE_MS without a change until the user comes back
   * (focus, visibility, a click). Refresh still forces a QuickBooks re-read (POST .../refresh). */
  var LIVE_INTERVAL_MS = 1000;
  var LIVE_MAX_BACKOFF_MS = 30000;
  var LIVE_IDLE_MS = 10 * 60 * 1000;
  var live = { timer: null, delay: LIVE_INTERVAL_MS, lastChange: Date.now(), pending: null, inFlight: false };

  function liveSchedule(delay) {
    window.clearTimeout(live.timer);
    live.timer = null;
    if (document.hidden || Date.now() - live.lastChange > LIVE_IDLE_MS) { return; }  // asleep until liveWake
    live.timer = window.setTimeout(livePoll, delay);
  }

  function livePoll() {
    live.timer = null;
    if (live.inFlight || document.hidden) { return; }
    live.inFlight = true;
    P.api("GET", "deals/" + dealId + "/invoices", null, { reuseToken: true, live: true }).then(function (answer) {
      live.delay = LIVE_INTERVAL_MS;
      // A 304 (revalidated) changes nothing, unless the panel shows an error the data now answers.
      if (!answer.revalidated || root.dataset.state !== "ready") {
        live.pending = answer.data;
        live.lastChange = Date.now();
      }
      liveApply();
    }, function () {
      live.delay = Math.min(live.delay * 2, LIVE_MAX_BACKOFF_MS);
    }).then(function () {
      live.inFlight = false;
      liveSchedule(live.delay);
    });
  }

  /* A live read waits while the user has an invoice's menu or send form open (the data waits for
   * the next tick): the menu's actions stay those of the invoice the user is looking at. */
  function liveApply() {
    if (!live.pending) { return; }
    if (document.querySelector("#invoices .menu:not([hidden]), #invoices .send-form")) { return; }
    var data = live.pending;
    live.pending = null;
    render(data);
  }

  function liveWake() {
    if (document.hidden) { liveSchedule(0); return; }  // clears the timer: no reads while hidden
    live.lastChange = Date.now();  // the user is back: another LIVE_IDLE_MS of live reads
    if (!live.timer && !live.inFlight) { live.delay = LIVE_INTERVAL_MS; liveSchedule(0); }
  }

  function startLiveUpdates() {
    document.addEventListener("visibilitychange", liveWake);
    window.addEventListener("focus", liveWake);
    document.addEventListener("pointerdown", liveWake);
    live.lastChange = Date.now();
    liveSchedule(LIVE_INTERVAL_MS);
  }

  wirePanelMenu();
  document.addEventListener("click", function () { closeMenus(); });
  $("refresh").addEventListener("click", refresh);
  $("new-invoice").addEventListener("click", openModal);
  $("contact-form").addEventListener("submit", loadContact);
  $("contact").addEventListener("toggle", function () { if ($("contact").open) { loadContact(); } else { P.fit(); } });
  if (window.ResizeObserver) { new ResizeObserver(function () { P.fit(); }).observe(document.body); }

  // The first read runs alongside the SDK handshake (with the page's own token); it renders once both are done.
  var first = P.api("GET", "deals/" + dealId + "/invoices", null, { pageToken: true });
  first.catch(function () {});  // handled below, after initialize
  P.init({ height: 180 }).then(function (sdk) {
    sdk.listen(P.SDK.Event.CLOSE_CUSTOM_MODAL, function () { load(); });
    return first.then(function (answer) { render(answer.data); }, function (error) {
      // The page token expired or was refused: read again with a fresh one from Pipedrive.
      return error.status === 401 ? load() : failed(error);
    }).then(startLiveUpdates);
  }).catch(function (error) { notice(t("error", { message: error.message || String(error) })); });
})();
