// The dashboard's script: tables from the REST API, charts drawn with the vendored TradingView
// Lightweight Charts, and live updates from GET /api/v1/events (Server-Sent Events read through
// fetch, so the token goes in the Authorization header and never in a URL). A table is fetched
// again only when an event says it changed; nothing polls every table. The charts start from
// the store's history (GET /api/v1/history, /api/v1/pnl/history), not from when the page
// opened, and the stream extends them.
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
const ddiv = (a, b) => (b === 0n ? 0n : (a * SCALE) / b);
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
  accounts: [], account: null, symbols: [], current: null, ticks: {}, weights: {},
  prices: {},    // symbol -> Map(time -> price)
  fills: {},     // symbol -> [{account, time, side, qty, price, fee, key}]
  fillKeys: new Set(),
  targets: {},   // symbol -> account -> Map(time -> qty)
  actual: {},    // symbol -> account -> Map(time -> qty), from the store's books
  depth: {},     // symbol -> account -> Map(time -> blended depth)
  contrib: {},   // symbol -> account -> source -> Map(time -> desired position, base units)
  history: {},   // "account|symbol" -> time (ms) the store's history was last read
  pnlSeries: {}, // the selected account's P&L by source: name -> Map(time -> pnl)
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
// Depth (a fraction of account value) on the left, the sources' parts (base units) on the right.
depthChart.applyOptions({ leftPriceScale: { visible: true, borderColor: "#263241" } });
const pnlChart = makeChart("pnl-chart");
let pnlLines = [];
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
  });
  const account = S.account;
  const depth = account ? points(nested(S.depth, sym, account)) : [];
  if (depth.length) { add(depthChart, depth, { color: "#e6edf3", title: "depth", priceScaleId: "left" }); depthLegend.push(["blended depth (" + account + ", left)", "#e6edf3"]); }
  const parts = (S.contrib[sym] || {})[account] || {};
  Object.keys(parts).sort().forEach((source, i) => {
    const color = COLORS[(i + 1) % COLORS.length];
    add(depthChart, points(parts[source]), { color, lineWidth: 1 });
    depthLegend.push([source + " (base units)", color]);
  });
  legend("position-legend", posLegend); legend("depth-legend", depthLegend);
  // Show all the data until the trader zooms or scrolls a chart (then leave the view alone).
  if (!S.userMoved) for (const c of [priceChart, positionChart, depthChart]) c.timeScale().fitContent();
}
for (const id of ["price-chart", "position-chart", "depth-chart"]) {
  for (const ev of ["wheel", "pointerdown", "touchstart"]) $(id).addEventListener(ev, () => { S.userMoved = true; }, { passive: true });
}

// The actual position over time: the store's books (GET /api/v1/history), then the venue's
// position as last read, now.
function actualSeries(account, sym) {
  const out = new Map(nested(S.actual, sym, account));
  const now = S.positions.find((p) => p.account === account && p.symbol === sym);
  if (now) out.set(Math.floor(Date.now() / 1000), Number(now.size));
  return points(out);
}

let drawPending = false;
function redraw() { if (drawPending) return; drawPending = true; requestAnimationFrame(() => { drawPending = false; drawSymbol(); }); }

function tabs() {
  $("symbol-tabs").innerHTML = S.symbols.map((s) => '<button data-s="' + esc(s) + '" class="' + (s === S.current ? "on" : "") + '">' + esc(s) + "</button>").join("");
  for (const b of $("symbol-tabs").querySelectorAll("button")) b.onclick = () => { S.current = b.dataset.s; S.userMoved = false; tabs(); drawSymbol(); later("history"); };
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
  putRisk({ at: e.at, account: e.account, from: p.from, to: p.to, why: p.by ? "reset by " + p.by : [p.rule, p.detail].filter((x) => x).join(": ") });
}
// One change once, whether it came from the store's history or the stream.
function putRisk(r) {
  const key = (x) => x.account + "|" + Date.parse(x.at) + "|" + x.to;
  if (S.risk.some((x) => key(x) === key(r))) return;
  S.risk.push(r);
  S.risk.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
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
    case "fill": if (addFill(e.account, p)) { redraw(); later("positions", "accounts", "pnl", "equity", "history"); } break;
    case "target_changed":
      nested(S.targets, e.symbol, e.account).set(t, Number(p.quantity));
      nested(S.depth, e.symbol, e.account).set(t, Number(p.depth));
      redraw(); later("symbols", "positions"); if (e.symbol === S.current) later("history"); break;
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
    if (!S.accounts.includes(S.account)) S.account = S.accounts[0] || null;
    $("account-select").innerHTML = S.accounts.map((a) => '<option value="' + esc(a) + '"' + (a === S.account ? " selected" : "") + ">" + esc(a) + "</option>").join("");
    table("accounts", ["account", "trading on", "equity#", "risk", "state", "orders#", "last error"],
      Object.entries(accounts).map(([name, v]) => {
        const risk = v.risk ? String(v.risk.state).toUpperCase() : "-";
        return "<tr><td>" + esc(name) + "</td><td>" + esc(v.trading || "") + (v.connection === "connecting" ? ' <span class="neg">CONNECTING</span>' : "") +
          Object.entries(v.unknown_positions || {}).map(([s, u]) => '<br><span class="neg">unknown ' + esc(s) + " " + esc(u.size) + ": " + esc(u.status) + "</span>").join("") +
          '</td><td class="num">' + num(v.value) + '</td><td class="' + (String(risk).toUpperCase() === "ACTIVE" ? "pos" : "neg") + '">' + esc(risk) + (v.risk && v.risk.detail ? " (" + esc(v.risk.detail) + ")" : "") +
          "</td><td>" + esc(v.kill ? "KILL: " + v.kill : (v.state || "")) + (v.reconciled ? "" : ' <span class="neg">not reconciled</span>') +
          // In a cluster: which process trades the account (this one holds its lease), or why not this one.
          (v.lease_holder ? "<br>traded by process " + esc(v.lease_holder) : "") + (v.standby ? '<br><span class="neg">' + esc(v.standby) + "</span>" : "") +
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
    const first = S.account; if (!first) return;
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
  // P&L by source over time for the selected account, from the engine's attribution books
  // (the chart from /api/v1/pnl/history, the exact figures from /api/v1/pnl).
  async pnl() {
    const account = S.account; if (!account) return;
    const q = "account=" + encodeURIComponent(account);
    const [hist, now] = await Promise.all([api("/api/v1/pnl/history?" + q + "&bucket=300"), api("/api/v1/pnl?" + q)]);
    S.pnlSeries = {};
    for (const series of hist.series) {
      const m = (S.pnlSeries[series.name] = new Map());
      for (const p of series.points) m.set(secs(p.at), Number(p.pnl));
    }
    for (const l of pnlLines) { try { pnlChart.removeSeries(l); } catch (_) { /* already gone */ } }
    pnlLines = [];
    const items = [];
    Object.keys(S.pnlSeries).forEach((name, i) => {
      const total = name === "account", color = total ? "#e6edf3" : COLORS[i % COLORS.length];
      const line = pnlChart.addSeries(LW.LineSeries, { color, lineWidth: total ? 2 : 1, priceFormat: { type: "price", precision: 2, minMove: 0.01 } });
      line.setData(points(S.pnlSeries[name]));
      pnlLines.push(line); items.push([total ? "account (total)" : name, color]);
    });
    legend("pnl-legend", items);
    pnlChart.timeScale().fitContent();
    $("pnl-note").textContent = account + ": P&L by source in 5-minute steps (realised + unrealised − fees + funding), the table as of now, exact.";
    table("pnl", ["source", "position#", "realised#", "unrealised#", "fees#", "funding#", "slippage#", "P&L#"],
      now.lines.concat([now.total]).map((l) => "<tr><td>" + esc(l.name === "account" ? "account (total)" : l.name) + '</td><td class="num">' + num(l.qty) + "</td>" + signed(l.realised) + signed(l.unrealised) +
        '<td class="num">' + num(l.fees) + '</td><td class="num">' + num(l.funding) + '</td><td class="num">' + num(l.slippage) + "</td>" + signed(l.pnl) + "</tr>"));
  },
  // Target, actual and the sources' parts, blended depth and risk changes of the shown symbol,
  // from the store; the stream adds to them as they change.
  async history() {
    const sym = S.current; if (!sym) return;
    await Promise.all(S.accounts.map(async (account) => {
      const h = await api("/api/v1/history?account=" + encodeURIComponent(account) + "&symbol=" + encodeURIComponent(sym) + "&hours=24");
      const fill = (m, pts, key) => { for (const p of pts) m.set(secs(p.at), Number(p[key])); };
      fill(nested(S.targets, sym, account), h.target, "qty");
      const actual = nested(S.actual, sym, account); actual.clear(); fill(actual, h.actual, "qty");
      fill(nested(S.depth, sym, account), h.depth, "depth");
      const parts = ((S.contrib[sym] = S.contrib[sym] || {})[account] = {});
      for (const [source, pts] of Object.entries(h.sources)) fill((parts[source] = new Map()), pts, "qty");
      for (const r of h.risk) putRisk(Object.assign({ account }, r));
      S.history[account + "|" + sym] = Date.now();
    }));
    redraw();
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
    await Promise.all([REFRESH.sources(), REFRESH.equity()]);
    // The histories are drawn when they come; one failing must not keep the live stream shut.
    REFRESH.pnl().catch(showError); REFRESH.history().catch(showError);
    $("error").textContent = ""; $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    redraw();
  } catch (e) { showError(e); return; }
  S.lastId = null; stream();
}

// Equity is a snapshot per cycle, not an event, and unrealised P&L moves with prices: both are
// read again each 30 s (and after each fill).
setInterval(() => { if (S.streaming) later("equity", "pnl"); }, 30000);
$("account-select").addEventListener("change", () => { S.account = $("account-select").value; later("equity", "pnl"); redraw(); });

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
