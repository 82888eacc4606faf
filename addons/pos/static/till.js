/* o2o web till: plain JS, no build step.
 *
 * Every sale is written to a queue in localStorage with its idempotency key BEFORE it is
 * sent; the queue is sent in order whenever the server can be reached (on load, every few
 * seconds, on the browser's "online" event). The server records a key once, so a sale sent
 * twice (answer lost, page reloaded mid-send) is still recorded once.
 *
 * A queued sale is a fact: the money was taken. If the server refuses it (stock, a product
 * archived meanwhile, a closed session...), it moves to the "needs attention" list, kept in
 * localStorage and reported to the server (which keeps it too: the sale carries
 * ``queued_at``), until the store manager retries, converts or voids it. Where the store
 * refuses sales short of stock, the till asks the server BEFORE taking the money.
 *
 * Every text comes translated from the page (data-messages, see pos/web.py).
 */
(function () {
  "use strict";
  const app = document.getElementById("app");
  const registerId = app.dataset.registerId;
  const API = app.dataset.api;
  const methods = JSON.parse(app.dataset.methods || "[]");
  let session = JSON.parse(app.dataset.session || "null");
  let csrf = document.querySelector('meta[name="csrf-token"]').content;
  const MESSAGES = JSON.parse(app.dataset.messages || "{}");
  // a translated text, "%(name)s" filled in from vars
  const T = (key, vars) => String(MESSAGES[key] || key).replace(/%\((\w+)\)s/g, (m, n) =>
    (vars && vars[n] !== undefined && vars[n] !== null) ? String(vars[n]) : m);
  const QUEUE_KEY = "o2o.pos.queue." + registerId;
  const ATTENTION_KEY = "o2o.pos.attention." + registerId;
  const CATALOGUE_KEY = "o2o.pos.catalogue." + registerId;
  const $ = (id) => document.getElementById(id);
  const scan = $("scan");

  let lines = [];          // {product_id, name, unit_price (string), quantity (string), code}
  let selected = -1;
  let lastSale = null;
  let sending = false;

  // --- money (integers in thousandths of a unit / cents) ---------------------------------
  const cents = (s) => Math.round(parseFloat(s || "0") * 100);
  const fmt = (c) => (c < 0 ? "-" : "") + (Math.abs(c) / 100).toFixed(2);
  const lineTotal = (l) => Math.round(parseFloat(l.unit_price) * 100 * parseFloat(l.quantity));
  const total = () => lines.reduce((s, l) => s + lineTotal(l), 0);

  // --- storage ------------------------------------------------------------------------------
  const load = (key, dflt) => { try { return JSON.parse(localStorage.getItem(key)) || dflt; } catch (e) { return dflt; } };
  const save = (key, value) => localStorage.setItem(key, JSON.stringify(value));
  const queue = () => load(QUEUE_KEY, []);
  const attention = () => load(ATTENTION_KEY, []);
  let catalogue = load(CATALOGUE_KEY, {});

  function remember(p) {
    const entry = { product_id: p.product_id, name: p.name, unit_price: p.unit_price, sku: p.sku };
    if (p.barcode) catalogue[p.barcode] = entry;
    if (p.sku) catalogue[p.sku] = entry;
  }

  // --- network ------------------------------------------------------------------------------
  function setOnline(on) {
    const el = $("net");
    el.textContent = on ? T("online") : T("offline");
    el.className = "net " + (on ? "online" : "offline");
  }

  async function call(method, path, body, extraHeaders, retried) {
    const headers = Object.assign({ "Accept": "application/json", "X-CSRFToken": csrf }, extraHeaders || {});
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(API + path, { method, headers, credentials: "same-origin",
                                        body: body === undefined ? undefined : JSON.stringify(body) });
    setOnline(true);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (r.status === 403 && !retried && data && String(data.type || "").endsWith("/csrf")) {
      await refreshCsrf();   // the page outlived its token: take a fresh one, once
      return call(method, path, body, extraHeaders, true);
    }
    return { status: r.status, data, headers: r.headers };
  }

  async function refreshCsrf() {
    const r = await fetch(app.dataset.csrfUrl, { credentials: "same-origin" });
    csrf = (await r.json()).csrf_token;
  }

  function message(text, isError) {
    const el = $("message");
    el.textContent = text || "";
    el.className = isError ? "error" : "";
  }

  // --- session ------------------------------------------------------------------------------
  function showPanels() {
    $("open-panel").hidden = !!session;
    $("sell-panel").hidden = !session;
    $("session-label").textContent = session ? T("Session %(name)s", { name: session.name }) : T("No open session");
    if (session) {
      $("counts").innerHTML = methods.map((m) =>
        `<label>${m.name} <input data-count="${m.code}" inputmode="decimal"></label>`).join("");
      scan.focus();
    } else {
      $("float").focus();
    }
  }

  $("open-btn").addEventListener("click", async () => {
    const r = await call("POST", `/registers/${registerId}/sessions`, { opening_float: $("float").value || "0" })
      .catch(() => null);
    if (!r) return message(T("The server cannot be reached: a session can only be opened online."), true);
    if (r.status !== 201) return message(r.data && r.data.detail, true);
    session = r.data;
    showPanels();
  });

  $("close-btn").addEventListener("click", async () => {
    await flush();
    if (queue().length) return message(T("Sales are still waiting to be sent; close once they are."), true);
    if (attention().length) return message(T("Refused sales need attention: the store manager resolves them before the session can be closed."), true);
    const counts = {};
    document.querySelectorAll("[data-count]").forEach((i) => { if (i.value.trim()) counts[i.dataset.count] = i.value.trim(); });
    const r = await call("POST", `/sessions/${session.id}/close`,
                         { counts, difference_reason: $("diff-reason").value || null }).catch(() => null);
    if (!r) return message(T("The server cannot be reached: close the session once it is back."), true);
    if (r.status !== 200) return message(r.data && r.data.detail, true);
    message(T("Session closed. Cash difference %(difference)s. Z report %(number)s.",
              { difference: r.data.cash_difference, number: r.data.z_report.number }));
    window.open(r.data.z_report.pdf, "_blank");
    session = null;
    showPanels();
  });

  // --- the cart -----------------------------------------------------------------------------
  function render() {
    const body = document.querySelector("#lines tbody");
    body.innerHTML = "";
    lines.forEach((l, i) => {
      const tr = document.createElement("tr");
      if (i === selected) tr.className = "selected";
      tr.innerHTML = `<td></td><td class="n qty"></td><td class="n">${fmt(cents(l.unit_price))}</td>` +
        `<td class="n">${fmt(lineTotal(l))}</td><td><button type="button" class="rm">✕</button></td>`;
      tr.querySelector(".rm").title = T("remove");
      tr.children[0].textContent = l.name;
      tr.children[1].textContent = l.quantity;
      tr.addEventListener("click", () => { selected = i; render(); scan.focus(); });
      tr.querySelector(".rm").addEventListener("click", (e) => { e.stopPropagation(); removeLine(i); });
      body.appendChild(tr);
    });
    $("total").textContent = fmt(total());
    renderPayments();
    const q = queue().length;
    $("queue").textContent = q ? T("%(n)s sale(s) waiting to be sent", { n: q }) : "";
    renderAttention();
  }

  // --- refused sales that need attention -----------------------------------------------------
  function renderAttention() {
    const items = attention();
    const box = $("attention");
    box.hidden = !items.length;
    const list = $("attention-list");
    list.innerHTML = "";
    items.forEach((a) => {
      const li = document.createElement("li");
      li.dataset.key = a.idempotency_key;
      li.textContent = T("Sale of %(total)s taken at %(time)s: %(error)s", {
        total: a.total, time: new Date(a.queued_at).toLocaleTimeString(), error: a.error }) +
        " · " + (a.attention_id ? T("kept on the server (#%(id)s)", { id: a.attention_id }) : T("not yet reported to the server"));
      list.appendChild(li);
    });
  }

  function needsAttention(sale, r) {
    // the money was taken: never drop the sale. Kept here first, then on the server.
    const items = attention();
    if (!items.some((a) => a.idempotency_key === sale.idempotency_key)) {
      items.push({ idempotency_key: sale.idempotency_key, queued_at: sale.queued_at, total: sale.total,
                   request: { lines: sale.lines, payments: sale.payments },
                   error: (r.data && r.data.detail) || String(r.status), error_status: r.status,
                   error_type: r.data && r.data.type, attention_id: (r.data && r.data.attention_id) || null });
      save(ATTENTION_KEY, items);
    }
  }

  async function syncAttention() {
    let items = attention();
    if (!items.length) return;
    for (const a of items.filter((x) => !x.attention_id)) {
      let r;
      try {
        r = await call("POST", `/registers/${registerId}/attention`, {
          idempotency_key: a.idempotency_key, request: a.request, error: String(a.error).slice(0, 4000),
          error_status: a.error_status || null, error_type: a.error_type || null, queued_at: a.queued_at,
          total: a.total });
      } catch (e) { setOnline(false); return; }
      if (r.status === 200 || r.status === 201) a.attention_id = r.data.id;
      else if (r.status === 409 && r.data && r.data.sale_id) a.recorded = true;  // it was recorded after all
    }
    items = items.filter((a) => !a.recorded);
    // the store manager resolved some: they leave the till's list
    try {
      const r = await call("GET", `/registers/${registerId}/attention?state=open`);
      if (r.status === 200) {
        const open = new Set(r.data.map((a) => a.idempotency_key));
        items = items.filter((a) => !a.attention_id || open.has(a.idempotency_key));
      }
    } catch (e) { setOnline(false); }
    save(ATTENTION_KEY, items);
  }

  function renderPayments() {
    if (!$("payments").childElementCount) {
      $("payments").innerHTML = methods.map((m) =>
        `<label>${m.name} <input data-pay="${m.code}" inputmode="decimal" placeholder="0.00"></label>`).join("");
      $("payments").addEventListener("input", updatePaid);
      $("payments").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); pay(); } });
    }
    updatePaid();
  }

  function tendered() {
    const out = [];
    document.querySelectorAll("[data-pay]").forEach((i) => {
      const c = cents(i.value);
      if (c > 0) out.push({ method: i.dataset.pay, amount: fmt(c) });
    });
    return out;
  }

  function updatePaid() {
    const paid = tendered().reduce((s, p) => s + cents(p.amount), 0);
    $("paid").textContent = fmt(paid);
    $("change").textContent = fmt(Math.max(0, paid - total()));
  }

  function removeLine(i) {
    if (i < 0 || i >= lines.length) return;
    lines.splice(i, 1);
    selected = Math.min(selected, lines.length - 1);
    render();
    scan.focus();
  }

  async function lookup(code) {
    if (catalogue[code]) return Object.assign({ quantity: null }, catalogue[code]);
    let r;
    try {
      r = await call("GET", "/lookup?code=" + encodeURIComponent(code));
    } catch (e) {
      setOnline(false);
      throw new Error(T("Offline and %(code)s is not in the till's catalogue.", { code }));
    }
    if (r.status !== 200) throw new Error((r.data && r.data.detail) || T("Unknown code %(code)s", { code }));
    if (!r.data.quantity) { remember(r.data); save(CATALOGUE_KEY, catalogue); }
    return r.data;
  }

  async function add(text) {
    let qty = "1";
    let code = text.trim();
    const m = code.match(/^(\d+(?:[.,]\d+)?)\*(.+)$/);
    if (m) { qty = m[1].replace(",", "."); code = m[2].trim(); }
    if (!code) return;
    if (parseFloat(qty) <= 0) return message(T("The quantity must be more than zero."), true);
    try {
      const p = await lookup(code);
      const quantity = p.quantity ? (parseFloat(p.quantity) * parseFloat(qty)).toFixed(3) : qty;
      const same = lines.findIndex((l) => l.code === code && !p.quantity);
      if (same >= 0) {
        lines[same].quantity = String(parseFloat(lines[same].quantity) + parseFloat(qty));
        selected = same;
      } else {
        lines.push({ product_id: p.product_id, name: p.name, unit_price: p.unit_price, quantity, code,
                     scale: !!p.quantity, mult: qty });
        selected = lines.length - 1;
      }
      message("");
      render();
    } catch (e) {
      message(e.message, true);
    }
  }

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = scan.value;
    scan.value = "";
    if (text.trim()) add(text);
  });

  // --- paying -------------------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function payWith(code) {
    const input = document.querySelector(`[data-pay="${code}"]`);
    if (!input) return;
    const typed = scan.value.trim();
    scan.value = "";
    const others = tendered().filter((p) => p.method !== code).reduce((s, p) => s + cents(p.amount), 0);
    input.value = typed ? fmt(cents(typed)) : fmt(Math.max(0, total() - others));
    updatePaid();
  }

  const saleLines = () =>
    // a scale label carries its own weight or price: send the label and how many of it
    lines.map((l) => ({ code: l.code, quantity: l.scale ? l.mult : l.quantity }));

  // Before the money is taken: would the store refuse this sale? Online only; offline the
  // sale goes ahead (a refusal then lands in the needs-attention list, nothing is lost).
  async function refusedBeforePayment() {
    let r;
    try {
      r = await call("POST", `/registers/${registerId}/check`, { lines: saleLines() });
    } catch (e) {
      setOnline(false);
      return false;
    }
    if (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 429) {
      const line = r.data && r.data.line;
      if (line) { selected = line - 1; render(); }
      message(T("Not sold: %(detail)s", { detail: (r.data && r.data.detail) || r.status }), true);
      return true;
    }
    return false;
  }

  let paying = false;
  async function pay() {
    if (paying) return;
    if (!lines.length) return message(T("Scan something first."), true);
    let payments = tendered();
    if (!payments.length) return message(T("Enter what the customer pays (F8 cash, F9 card)."), true);
    const paid = payments.reduce((s, p) => s + cents(p.amount), 0);
    if (paid < total()) return message(T("The payments (%(paid)s) do not cover the total (%(total)s).",
                                         { paid: fmt(paid), total: fmt(total()) }), true);
    paying = true;
    try {
      if (await refusedBeforePayment()) return;
    } finally {
      paying = false;
    }
    const sale = {
      idempotency_key: uuid(),
      register_id: parseInt(registerId, 10),
      lines: saleLines(),
      payments,
      queued_at: new Date().toISOString(),
      total: fmt(total()),
    };
    const q = queue();
    q.push(sale);
    save(QUEUE_KEY, q);            // safe in the browser before anything is sent
    const change = Math.max(0, paid - total());
    lines = []; selected = -1;
    document.querySelectorAll("[data-pay]").forEach((i) => { i.value = ""; });
    message(T("Change %(change)s", { change: fmt(change) }));
    $("last-sale").textContent = T("Sale of %(total)s queued", { total: sale.total });
    render();
    scan.focus();
    flush();
  }

  $("pay-btn").addEventListener("click", pay);

  async function flush() {
    if (sending) return;
    sending = true;
    try {
      let q = queue();
      while (q.length) {
        const sale = q[0];
        // queued_at: the money was taken; a refusal is kept on the server as needing attention
        const body = { register_id: sale.register_id, lines: sale.lines, payments: sale.payments,
                       queued_at: sale.queued_at };
        let r;
        try {
          r = await call("POST", "/sales", body, { "Idempotency-Key": sale.idempotency_key });
        } catch (e) {
          setOnline(false);      // not reachable: keep the sale, try again later
          break;
        }
        if (r.status >= 500 || r.status === 401 || r.status === 429) break;  // try again later
        if (r.status === 409 && r.data && r.data.retry_later) break;  // still being recorded
        if (!(r.status === 200 || r.status === 201)) needsAttention(sale, r);  // before it leaves the queue
        q = queue();
        if (q.length && q[0].idempotency_key === sale.idempotency_key) q.shift();
        save(QUEUE_KEY, q);
        if (r.status === 200 || r.status === 201) {
          lastSale = r.data;
          $("last-sale").textContent = T("Receipt %(receipt)s · %(total)s · change %(change)s",
                                         { receipt: r.data.receipt, total: r.data.total, change: r.data.change_given });
          $("print-btn").disabled = false;
        } else {
          message(T("A queued sale of %(total)s was refused and needs attention: %(error)s",
                    { total: sale.total, error: (r.data && r.data.detail) || r.status }), true);
        }
      }
      await syncAttention();
    } finally {
      sending = false;
      render();
    }
  }

  $("print-btn").addEventListener("click", async () => {
    if (!lastSale) return;
    try {
      // printing is recorded (the second print is a DUPLICATE): a POST, with the page's token
      const r = await fetch(`${API}/sales/${lastSale.id}/receipt.html`,
                            { method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
      const html = await r.text();
      const w = window.open("", "_blank");
      if (w) { w.document.write(html); w.document.close(); w.focus(); w.print(); }
    } catch (e) {
      message(T("The receipt can be printed once the server is back."), true);
    }
    scan.focus();
  });

  // --- keyboard -----------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (!session) return;
    const inPayments = e.target && e.target.matches && e.target.matches("[data-pay], [data-count], #diff-reason");
    if (e.key === "F8") { e.preventDefault(); payWith(methods.find((m) => m.is_cash)?.code || "cash"); }
    else if (e.key === "F9") { e.preventDefault(); payWith(methods.find((m) => !m.is_cash)?.code || "card"); }
    else if (e.key === "F12") { e.preventDefault(); pay(); }
    else if (e.key === "F4") {
      e.preventDefault();
      const q = scan.value.trim().replace(",", ".");
      if (selected >= 0 && lines[selected].scale) message(T("A weighed article: scan its label again."), true);
      else if (selected >= 0 && parseFloat(q) > 0) { lines[selected].quantity = q; scan.value = ""; render(); }
      else message(T("Type the quantity, then F4."), true);
    } else if (e.key === "Delete" && !inPayments && !scan.value) { e.preventDefault(); removeLine(selected); }
    else if (e.key === "ArrowUp" && !inPayments) { e.preventDefault(); selected = Math.max(0, selected - 1); render(); }
    else if (e.key === "ArrowDown" && !inPayments) { e.preventDefault(); selected = Math.min(lines.length - 1, selected + 1); render(); }
  });
  // keep the scan field focused, except while typing payments or counts
  document.addEventListener("click", (e) => {
    if (session && !(e.target.closest && e.target.closest("input, button, summary, details"))) scan.focus();
  });

  // --- start --------------------------------------------------------------------------------
  async function loadCatalogue() {
    try {
      const r = await call("GET", `/registers/${registerId}/catalogue`);
      if (r.status === 200) {
        catalogue = {};
        r.data.forEach(remember);
        save(CATALOGUE_KEY, catalogue);
      }
    } catch (e) { setOnline(false); }
  }

  window.addEventListener("online", flush);
  window.addEventListener("offline", () => setOnline(false));
  setInterval(flush, 3000);
  showPanels();
  render();
  loadCatalogue().then(flush);
  window.o2oTill = { flush, queue, attention, lines: () => lines };
})();
