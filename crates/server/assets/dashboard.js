// The dashboard's script: tables from the REST API, charts drawn with the vendored TradingView
// Lightweight Charts, and live updates from GET /api/v1/events (Server-Sent Events read through
// fetch, so the token goes in the Authorization header and never in a URL). A table is fetched
// again only when an event says it changed; nothing polls every table.
"use strict";
const $ = (id) => document.getElementById(id);
const LW = window.LightweightCharts;

// ---------- token and API ----------
const tokenInput = $("token");
// A token in the URL fragment (#token=…, never sent to the server) is taken and stored.
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) { localStorage.setItem("tradeengine.token", fromHash); history.replaceState(null, "", location.pathname); }
tokenInput.value = localStorage.getItem("tradeengine.token") || "";
tokenInput.addEventListener("change", () => { localStorage.setItem("tradeengine.token", tokenInput.value.trim()); restart(); });
const token = () => tokenInput.value.trim();

async function api(path, options = {}, tokenOverride) {
  const headers = Object.assign({ "Content-Type": "application/json" }, options.headers || {});
  const t = (tokenOverride || token());
  if (t) headers["Authorization"] = "Bearer " + t;
  const r = await fetch(path, Object.assign({}, options, { headers }));
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (body.error || ""));
  return body;
}

// ---------- exact decimals for display sums (money stays out of floating point) ----------
// Values are BigInt in units of 1e-12; the API sends decimals as strings.
const SCALE = 10n ** 12n;
function dec(s) {
  const str = String(s ?? "0").trim(); const neg = str.startsWith("-");
  const [i, f = ""] = str.replace(/^[-+]/, "").split(".");
  const v = BigInt(i || "0") * SCALE + BigInt((f + "000000000000").slice(0, 12) || "0");
  return neg ? -v : v;
}
const dmul = (a, b) => (a * b) / SCALE;
const ddiv = (a, b) => (b === 0n ? 0n : (a * SCALE) / b);
const dabs = (a) => (a < 0n ? -a : a);
function dstr(v, dp = 2) {
  const neg = v < 0n; let a = neg ? -v : v;
  const unit = 10n ** BigInt(12 - dp); a = (a + unit / 2n) / unit; // half-up at dp
  const s = a.toString().padStart(dp + 1, "0");
  const out = dp ? s.slice(0, -dp) + "." + s.slice(-dp) : s;
  return (neg && a !== 0n ? "-" : "") + out;
}

// ---------- small helpers ----------
const esc = (v) => String(v ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const num = (v) => (v === null || v === undefined || v === "" ? "-" : esc(v));
const cls = (v) => { const n = Number(v); return n > 0 ? "pos" : n < 0 ? "neg" : ""; };
const signed = (v) => '<td class="num ' + cls(v) + '">' + num(v) + "</td>";
const secs = (iso) => Math.floor(Date.parse(iso) / 1000);
const local = (iso) => (iso ? new Date(iso).toLocaleString() : "-");
const localTime = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "-");
function table(el, head, rows) {
  $(el).innerHTML = "<tr>" + head.map((h) => '<th class="' + (h.endsWith("#") ? "num" : "") + '">' + esc(h.replace("#", "")) + "</th>").join("") + "</tr>" +
    (rows.length ? rows.join("") : '<tr><td class="dim" colspan="' + head.length + '">nothing yet</td></tr>');
}
const decimals = (tick) => { const s = String(tick || ""); return s.includes(".") ? s.split(".")[1].replace(/0+$/, "").length : 0; };

// ---------- what the page knows (window.dashState, for the browser test and the curious) ----------
const S = {
  accounts: [], symbols: [], current: null, ticks: {}, weights: {},
  prices: {},    // symbol -> Map(time -> price)
  fills: {},     // symbol -> [{account, time, side, qty, price, fee, key}]
  fillKeys: new Set(),
  targets: {},   // symbol -> account -> Map(time -> qty)
  depth: {},     // symbol -> account -> Map(time -> blended depth)
  contrib: {},   // symbol -> source -> Map(time -> contribution)
  risk: [],      // risk state changes, newest first
  signals: {},   // source -> {accepted, refused, last}
  lastPrice: {}, // symbol -> latest price as the API wrote it (a decimal string)
  positions: [], lastId: null, streaming: false, events: 0, userMoved: false,
};
window.dashState = S;
const mapOf = (o, k) => (o[k] = o[k] || new Map());
const nested = (o, a, b) => mapOf((o[a] = o[a] || {}), b);
const points = (m) => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));

// ---------- charts (time axes in the browser's zone) ----------
// Tick mark types (Lightweight Charts' TickMarkType): 0 year, 1 month, 2 day, 3 time, 4 time with seconds.
const tickMark = (t, type) => {
  const d = new Date(t * 1000);
  if (type <= 2) return d.toLocaleDateString();
  return d.toLocaleTimeString([], type === 4 ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" });
};
function makeChart(el) {
  return LW.createChart($(el), {
    autoSize: true,
    layout: { background: { color: "#161d26" }, textColor: "#d7dde4", panes: { separatorColor: "#263241" } },
    grid: { vertLines: { color: "#1e2732" }, horzLines: { color: "#1e2732" } },
    rightPriceScale: { borderColor: "#263241" },
    timeScale: { borderColor: "#263241", timeVisible: true, secondsVisible: true, tickMarkFormatter: tickMark },
    localization: { timeFormatter: (t) => new Date(t * 1000).toLocaleString() },
  });
}
const COLORS = ["#58a6ff", "#d29922", "#a371f7", "#3fb950", "#f85149", "#79c0ff", "#ffa657"];
const priceChart = makeChart("price-chart");
const priceLine = priceChart.addSeries(LW.LineSeries, { color: "#58a6ff", lineWidth: 2 });
const priceMarkers = LW.createSeriesMarkers(priceLine, []);
const positionChart = makeChart("position-chart");
const depthChart = makeChart("depth-chart");
const equityChart = makeChart("equity-chart");
const equityLine = equityChart.addSeries(LW.LineSeries, { color: "#3fb950", lineWidth: 2, priceFormat: { type: "price", precision: 2, minMove: 0.01 } });
const drawdown = equityChart.addSeries(LW.HistogramSeries, { color: "#f85149", priceFormat: { type: "percent", precision: 2, minMove: 0.01 } }, 1);
let dynamicSeries = [];

function legend(el, items) { $(el).innerHTML = items.map(([name, color, dashed]) => '<span><i style="background:' + color + (dashed ? ";opacity:.6" : "") + '"></i>' + esc(name) + "</span>").join(""); }

function drawSymbol() {
  const sym = S.current; if (!sym) return;
  const tick = S.ticks[sym];
  if (tick) priceLine.applyOptions({ priceFormat: { type: "price", precision: decimals(tick), minMove: Number(tick) } });
  priceLine.setData(points(mapOf(S.prices, sym)));
  const fills = (S.fills[sym] || []).slice().sort((a, b) => a.time - b.time);
  priceMarkers.setMarkers(fills.map((f) => ({
    time: f.time, position: f.side === "buy" ? "belowBar" : "aboveBar", color: f.side === "buy" ? "#3fb950" : "#f85149",
    shape: f.side === "buy" ? "arrowUp" : "arrowDown", text: (f.side === "buy" ? "B " : "S ") + f.qty,
  })));
  $("price-label").textContent = (tick ? "tick " + tick + " · " : "") + fills.length + " fill(s)";
  for (const s of dynamicSeries) { try { s.chart.removeSeries(s.series); } catch (_) { /* already gone */ } }
  dynamicSeries = [];
  const add = (chart, data, opts) => { const series = chart.addSeries(LW.LineSeries, Object.assign({ lineWidth: 2, lineType: LW.LineType.WithSteps }, opts)); series.setData(data); dynamicSeries.push({ chart, series }); };
  const posLegend = [], depthLegend = [];
  S.accounts.forEach((account, i) => {
    const color = COLORS[i % COLORS.length];
    const target = points(nested(S.targets, sym, account));
    if (target.length) { add(positionChart, target, { color, lineStyle: LW.LineStyle.Dashed, title: "target" }); posLegend.push([account + " target", color, true]); }
    const actual = actualSeries(account, sym);
    if (actual.length) { add(positionChart, actual, { color }); posLegend.push([account + " actual", color]); }
    const depth = points(nested(S.depth, sym, account));
    if (depth.length) { add(depthChart, depth, { color: "#e6edf3", title: "blended" }); depthLegend.push(["blended (" + account + ")", "#e6edf3"]); }
  });
  Object.keys(S.contrib[sym] || {}).forEach((source, i) => {
    const color = COLORS[(i + 1) % COLORS.length];
    add(depthChart, points(S.contrib[sym][source]), { color, lineWidth: 1 });
    depthLegend.push([source, color]);
  });
  legend("position-legend", posLegend); legend("depth-legend", depthLegend);
  // Show all the data until the trader zooms or scrolls a chart (then leave the view alone).
  if (!S.userMoved) for (const c of [priceChart, positionChart, depthChart]) c.timeScale().fitContent();
}
for (const id of ["price-chart", "position-chart", "depth-chart"]) {
  for (const ev of ["wheel", "pointerdown", "touchstart"]) $(id).addEventListener(ev, () => { S.userMoved = true; }, { passive: true });
}

// The actual position over time: the venue's position now, walked back through this engine's
// fills (a move from outside the engine shows as a step at the next position read).
function actualSeries(account, sym) {
  const now = S.positions.find((p) => p.account === account && p.symbol === sym);
  const fills = (S.fills[sym] || []).filter((f) => f.account === account).sort((a, b) => a.time - b.time);
  if (!fills.length && !now) return [];
  let size = dec(now ? now.size : "0");
  const out = new Map([[Math.floor(Date.now() / 1000), Number(dstr(size, 8))]]);
  for (let i = fills.length - 1; i >= 0; i--) {
    const f = fills[i];
    out.set(f.time, Number(dstr(size, 8)));
    size -= f.side === "buy" ? dec(f.qty) : -dec(f.qty);
    out.set(f.time - 1, Number(dstr(size, 8)));
  }
  return points(out);
}

let drawPending = false;
function redraw() { if (drawPending) return; drawPending = true; requestAnimationFrame(() => { drawPending = false; drawSymbol(); }); }

function tabs() {
  $("symbol-tabs").innerHTML = S.symbols.map((s) => '<button data-s="' + esc(s) + '" class="' + (s === S.current ? "on" : "") + '">' + esc(s) + "</button>").join("");
  for (const b of $("symbol-tabs").querySelectorAll("button")) b.onclick = () => { S.current = b.dataset.s; S.userMoved = false; tabs(); drawSymbol(); };
}

// ---------- what events change ----------
function addFill(account, f) {
  // The same fill comes from /api/v1/fills and from the stream's history, written alike but
  // not necessarily byte for byte (time zone suffix, trailing zeros): compare values.
  const key = account + "|" + f.client_order_id + "|" + Date.parse(f.filled_at) + "|" + dec(f.qty) + "|" + dec(f.price);
  if (S.fillKeys.has(key)) return false;
  S.fillKeys.add(key);
  const time = secs(f.filled_at), sym = f.symbol;
  (S.fills[sym] = S.fills[sym] || []).push({ account, time, side: f.side, qty: f.qty, price: f.price, fee: f.fee, key });
  // A fill is a real trade price at its time, so the price line has a point under its marker.
  mapOf(S.prices, sym).set(time, Number(f.price));
  return true;
}
function addRisk(e) {
  const p = e.payload || {};
  S.risk.unshift({ at: e.at, account: e.account, from: p.from, to: p.to, why: p.reset ? "reset by " + p.by : (p.detail || p.rule || "") });
  S.risk = S.risk.slice(0, 50);
  table("risk-history", ["time", "account", "from", "to", "why"], S.risk.map((r) => "<tr><td>" + esc(local(r.at)) + "</td><td>" + esc(r.account) +
    "</td><td>" + esc(r.from) + '</td><td class="' + (String(r.to).toUpperCase() === "ACTIVE" ? "pos" : "neg") + '">' + esc(r.to) + "</td><td>" + esc(r.why) + "</td></tr>"));
}
function countSignal(source, accepted, at) {
  if (!source) return;
  const c = (S.signals[source] = S.signals[source] || { accepted: 0, refused: 0, last: null });
  accepted ? c.accepted++ : c.refused++;
  if (accepted && (!c.last || at > c.last)) c.last = at;
}

function onAudit(e) {
  const t = secs(e.at), p = e.payload || {};
  switch (e.kind) {
    case "fill": if (addFill(e.account, p)) { redraw(); later("positions", "accounts", "pnl", "equity"); } break;
    case "target_changed":
      nested(S.targets, e.symbol, e.account).set(t, Number(p.quantity));
      nested(S.depth, e.symbol, e.account).set(t, Number(p.depth));
      redraw(); later("symbols", "positions"); break;
    case "order_state_changed": later("orders"); break;
    case "signal_accepted": countSignal(p.source, true, e.at); later("signals", "sources"); break;
    case "signal_refused": countSignal(p.source, false, e.at); later("refusals", "sources"); break;
    case "kill_switch": later("status", "accounts"); break;
    case "risk_state_changed": addRisk(e); later("accounts"); break;
    case "sleeve_changed": later("symbols"); break;
    case "reconciled": case "venue_rejected": case "risk_refused": later("accounts", "positions"); break;
  }
}
function onEvent(name, data) {
  S.events++;
  if (name === "audit") onAudit(data);
  else if (name === "prices") {
    const t = secs(data.at);
    for (const [sym, p] of Object.entries(data.prices)) { mapOf(S.prices, sym).set(t, Number(p)); S.lastPrice[sym] = String(p); }
    redraw();
  } else if (name === "freshness") later("sources");
  else if (name === "account_error") later("accounts");
  else if (name === "lagged") later(...Object.keys(REFRESH));
}

// ---------- the live stream ----------
let streamAbort = null;
async function stream() {
  const ctl = new AbortController(); streamAbort = ctl;
  const badge = $("stream");
  for (;;) {
    try {
      const path = S.lastId === null ? "/api/v1/events?history=3000" : "/api/v1/events";
      const headers = { Authorization: "Bearer " + token(), Accept: "text/event-stream" };
      if (S.lastId !== null) headers["Last-Event-ID"] = String(S.lastId);
      const r = await fetch(path, { headers, signal: ctl.signal });
      if (!r.ok) throw new Error("events: " + r.status);
      S.streaming = true; badge.textContent = "live"; badge.className = "badge stream-on";
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r/g, "");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          let name = "message", data = "", id = null;
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
            else if (line.startsWith("id:")) id = Number(line.slice(3).trim());
          }
          if (id !== null) S.lastId = id;
          if (data) { try { onEvent(name, JSON.parse(data)); } catch (err) { console.error(err); } }
        }
      }
    } catch (err) {
      if (ctl.signal.aborted) return;
    }
    S.streaming = false; badge.textContent = "reconnecting"; badge.className = "badge stream-off";
    await new Promise((r) => setTimeout(r, 2000));
    if (ctl.signal.aborted) return;
  }
}

// ---------- tables, each fetched when an event says it changed ----------
const REFRESH = {
  async status() {
    const status = await api("/api/v1/status");
    const mode = $("mode"); mode.textContent = status.mode.toUpperCase(); mode.className = "badge " + status.mode;
    const ks = status.kill_switch || {}, engaged = !!(ks.stored || ks.file); $("kill").hidden = !engaged;
    const how = ks.stored ? (ks.stored.action || "engaged") + (ks.stored.reason ? " (" + ks.stored.reason + ")" : "") : (ks.file ? "kill file present" : "");
    $("kill-state").textContent = engaged ? "ENGAGED: " + how : "released"; $("kill-state").className = engaged ? "neg" : "pos";
  },
  async accounts() {
    const accounts = await api("/api/v1/accounts");
    S.accounts = Object.keys(accounts);
    table("accounts", ["account", "trading on", "equity#", "risk", "state", "orders#", "last error"],
      Object.entries(accounts).map(([name, v]) => {
        const risk = v.risk ? String(v.risk.state).toUpperCase() : "-";
        return "<tr><td>" + esc(name) + "</td><td>" + esc(v.trading || "") + (v.connection === "connecting" ? ' <span class="neg">CONNECTING</span>' : "") +
          Object.entries(v.unknown_positions || {}).map(([s, u]) => '<br><span class="neg">unknown ' + esc(s) + " " + esc(u.size) + ": " + esc(u.status) + "</span>").join("") +
          '</td><td class="num">' + num(v.value) + '</td><td class="' + (String(risk).toUpperCase() === "ACTIVE" ? "pos" : "neg") + '">' + esc(risk) + (v.risk && v.risk.detail ? " (" + esc(v.risk.detail) + ")" : "") +
          "</td><td>" + esc(v.kill ? "KILL: " + v.kill : (v.state || "")) + (v.reconciled ? "" : ' <span class="neg">not reconciled</span>') +
          '</td><td class="num">' + v.orders_filled + "/" + v.orders_sent + '</td><td class="neg">' + esc([v.last_error || ""].concat(v.symbol_errors || []).filter((x) => x).join("; ")) + "</td></tr>";
      }));
  },
  async positions() {
    S.positions = await api("/api/v1/positions");
    table("positions", ["account", "symbol", "actual#", "target#", "drift#", "entry#", "leverage#"],
      S.positions.map((p) => "<tr><td>" + esc(p.account) + "</td><td>" + esc(p.symbol) + "</td>" + signed(p.size) + signed(p.target) +
        '<td class="num">' + num(p.drift) + '</td><td class="num">' + num(p.entry_price) + '</td><td class="num">' + num(p.leverage) + "</td></tr>"));
    redraw(); later("pnl");
  },
  async symbols() {
    const symbols = await api("/api/v1/symbols");
    const now = Math.floor(Date.now() / 1000), rows = [];
    for (const s of symbols) {
      if (!S.symbols.includes(s.symbol)) S.symbols.push(s.symbol);
      if (s.tick) S.ticks[s.symbol] = s.tick;
      if (s.price) { mapOf(S.prices, s.symbol).set(now, Number(s.price)); S.lastPrice[s.symbol] = String(s.price); }
      const b = s.blend;
      if (!b) { rows.push("<tr><td>" + esc(s.symbol) + '</td><td colspan="6" class="dim">no blend yet</td></tr>'); continue; }
      for (const c of b.contributions) {
        nested(S.contrib, s.symbol, c.source).set(now, Number(c.contribution.value));
        const exp = c.exposure ? c.exposure.value + (c.exposure.unit === "base" ? " base" : "") : "-";
        rows.push("<tr><td>" + esc(s.symbol) + "</td><td>" + esc(c.source) + '</td><td class="num">' + num(c.weight) + '</td><td class="num">' + esc(exp) +
          "</td>" + signed(c.contribution.value) + "<td>" + (c.stale ? '<span class="neg">stale' + (c.stale_since ? " since " + esc(localTime(c.stale_since)) : "") + "</span>" : "") + '</td><td class="num">' + num(c.leverage) + "</td></tr>");
      }
      rows.push('<tr><td></td><td class="dim">= blended</td><td></td><td></td>' + signed(b.depth) + '<td></td><td class="num">' + num(b.leverage) + "</td></tr>");
    }
    if (!S.current && S.symbols.length) S.current = S.symbols[0];
    tabs(); table("symbols", ["symbol", "source", "weight#", "depth#", "contribution#", "", "leverage#"], rows); redraw(); later("pnl");
  },
  async signals() {
    const signals = await api("/api/v1/signals?limit=12");
    table("signals", ["received", "source", "symbol", "intent"], signals.map((s) => "<tr><td>" + esc(localTime(s.received_at)) + "</td><td>" + esc(s.source) + "</td><td>" + esc(s.symbol) + "</td><td>" +
      esc(s.intent.kind === "target" ? "depth " + s.intent.depth : s.intent.action) + "</td></tr>"));
  },
  async orders() {
    const orders = await api("/api/v1/orders?limit=12");
    table("orders", ["time", "symbol", "side", "qty#", "avg#", "state"], orders.map((o) => "<tr><td>" + esc(localTime(o.created_at)) + "</td><td>" + esc(o.symbol) + '</td><td class="' + (o.side === "buy" ? "pos" : "neg") + '">' +
      esc(o.side) + (o.reduce_only ? " (reduce)" : "") + '</td><td class="num">' + num(o.qty) + '</td><td class="num">' + num(o.avg_fill_price) + "</td><td>" + esc(o.state) + "</td></tr>"));
  },
  async sources() {
    const sources = await api("/api/v1/sources");
    table("sources", ["source", "type", "state", "last signal", "accepted#", "refused#", "why"], Object.entries(sources).map(([name, s]) => {
      const f = s.freshness, c = S.signals[name] || { accepted: 0, refused: 0, last: null };
      const state = !s.enabled ? '<span class="dim">disabled</span>' : !f ? '<span class="dim">push</span>'
        : f.stale ? '<span class="neg">STALE since ' + esc(local(f.stale_since)) + "</span>" : '<span class="pos">fresh</span>';
      return "<tr><td>" + esc(name) + "</td><td>" + esc(s.type) + "</td><td>" + state + "</td><td>" + esc(local(c.last || (f && f.last_success))) + '</td><td class="num">' + c.accepted +
        '</td><td class="num">' + c.refused + '</td><td class="neg">' + esc(f && f.last_error ? f.last_error : "") + "</td></tr>";
    }));
  },
  async refusals() {
    const refused = await api("/api/v1/signals/refused?limit=15");
    table("refusals", ["time", "source", "reason", "detail", "body"], refused.map((r) => "<tr><td>" + esc(localTime(r.refused_at)) + "</td><td>" + esc(r.source) + '</td><td class="neg">' + esc(r.code) + "</td><td>" +
      esc(r.reason) + '</td><td class="dim">' + esc((r.body || "").slice(0, 120)) + "</td></tr>"));
  },
  async equity() {
    const first = S.accounts[0]; if (!first) return;
    const curve = await api("/api/v1/equity?account=" + encodeURIComponent(first) + "&hours=24");
    const eq = new Map(), dd = new Map(); let peak = null;
    for (const p of curve) {
      const t = secs(p.at), v = dec(p.value); eq.set(t, Number(dstr(v, 2)));
      if (peak === null || v > peak) peak = v;
      dd.set(t, Number(dstr(ddiv((v - peak) * 100n, peak), 2)));
    }
    equityLine.setData(points(eq)); drawdown.setData(points(dd)); equityChart.timeScale().fitContent();
    const last = curve[curve.length - 1];
    const worst = Math.min(0, ...dd.values());
    $("equity-label").textContent = curve.length ? first + ": last " + last.value + " · max drawdown " + worst.toFixed(2) + "% over " + curve.length + " points (24 h)" : "waiting for equity points";
  },
  // Realised (average cost, fees included) and unrealised per account and symbol, in exact
  // decimals, from the fills the page has and the latest prices. Kept behind this one function
  // so the engine's own P&L (/api/v1/pnl, by source) can replace it.
  async pnl() {
    const rows = [];
    for (const sym of Object.keys(S.fills).sort()) {
      for (const account of S.accounts) {
        const fills = S.fills[sym].filter((f) => f.account === account).sort((a, b) => a.time - b.time);
        if (!fills.length) continue;
        let qty = 0n, avg = 0n, gross = 0n, fees = 0n;
        for (const f of fills) {
          const q = f.side === "buy" ? dec(f.qty) : -dec(f.qty), px = dec(f.price);
          fees += dec(f.fee);
          if (qty === 0n || (qty > 0n) === (q > 0n)) {
            avg = ddiv(dmul(avg, dabs(qty)) + dmul(px, dabs(q)), dabs(qty) + dabs(q));
            qty += q;
            continue;
          }
          const closed = dabs(q) < dabs(qty) ? dabs(q) : dabs(qty);
          gross += dmul(closed, qty > 0n ? px - avg : avg - px);
          const before = qty; qty += q;
          if (qty === 0n) avg = 0n;
          else if ((qty > 0n) !== (before > 0n)) avg = px; // flipped: the rest opened at this price
        }
        const realised = gross - fees;
        const mark = S.lastPrice[sym];
        const unrealised = mark && qty !== 0n ? dmul(qty, dec(mark) - avg) : 0n;
        rows.push("<tr><td>" + esc(account) + "</td><td>" + esc(sym) + "</td>" + signed(dstr(realised)) + signed(dstr(unrealised)) + '<td class="num">' + dstr(fees, 4) + '</td><td class="num">' + fills.length + "</td></tr>");
      }
    }
    $("pnl-note").textContent = "Realised (average cost, fees included) and unrealised at the latest price, per account and symbol, over the fills loaded (the newest 500 per account).";
    table("pnl", ["account", "symbol", "realised#", "unrealised#", "fees#", "fills#"], rows);
  },
};

let pending = new Set(), timer = null;
function later(...names) {
  for (const n of names) pending.add(n);
  if (!timer) timer = setTimeout(async () => {
    timer = null; const run = [...pending]; pending = new Set();
    try { await Promise.all(run.map((n) => REFRESH[n]())); $("error").textContent = ""; $("updated").textContent = "updated " + new Date().toLocaleTimeString(); }
    catch (e) { showError(e); }
  }, 250);
}
function showError(e) { $("error").textContent = String(e.message || e) + (String(e.message).includes("401") ? " — enter the read token printed in the start banner" : ""); }

async function loadFills() {
  for (const account of S.accounts) {
    const fills = await api("/api/v1/fills?account=" + encodeURIComponent(account) + "&limit=500");
    for (const f of fills) addFill(account, f);
  }
}

async function restart() {
  if (streamAbort) streamAbort.abort();
  try {
    await REFRESH.accounts();
    await Promise.all([REFRESH.status(), REFRESH.positions(), REFRESH.symbols(), REFRESH.signals(), REFRESH.orders(), REFRESH.refusals(), loadFills()]);
    await Promise.all([REFRESH.sources(), REFRESH.equity(), REFRESH.pnl()]);
    $("error").textContent = ""; $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    redraw();
  } catch (e) { showError(e); return; }
  S.lastId = null; stream();
}

// Equity is a snapshot per cycle, not an event: it is read again each 30 s (and after each fill).
setInterval(() => { if (S.streaming) later("equity"); }, 30000);

async function kill(action) {
  const control = $("control-token").value.trim();
  if (!control) { $("kill-result").textContent = "enter the control token first"; $("control-token").focus(); return; }
  if (!confirm(action === "release" ? "Release the kill switch?" : "Engage the kill switch (" + action + ") on every account?")) return;
  try {
    const r = action === "release" ? await api("/api/v1/kill", { method: "DELETE" }, control)
      : await api("/api/v1/kill", { method: "POST", body: JSON.stringify({ action, reason: "dashboard" }) }, control);
    $("kill-result").textContent = action === "release" ? "released" : "engaged: " + ((r.engaged && r.engaged.action) || action);
  } catch (e) {
    $("kill-result").textContent = String(e.message || e) + (String(e.message).includes("403") ? " — that is a read token; the control token is needed" : "");
  }
  $("control-token").value = "";
  later("status", "accounts");
}
$("freeze").onclick = () => kill("freeze");
$("flatten").onclick = () => kill("flatten");
$("release").onclick = () => kill("release");
restart();
