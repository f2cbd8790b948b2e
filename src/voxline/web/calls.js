// The calls page: every call (phone and browser), and for one call its recording, orders,
// transcript with interruptions marked, and each turn's latency as a chart.

import { latencyChart, latencySteps, legend } from "./latency.js";

const $ = (id) => document.getElementById(id);
const LINES = { twilio: "phone", browser: "browser" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const when = (ts) => new Date(ts * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
function duration(s) {
  if (s === null || s === undefined) return "live";
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, "0")}`;
}
const cut = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return res.json();
}

async function loadList() {
  const tbody = $("calls");
  let body;
  try {
    body = await getJson("/api/calls?limit=200");
  } catch (err) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, `Cannot load calls: ${err.message}`)));
    return;
  }
  if (!body.calls.length) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No calls yet.")));
    return;
  }
  const selected = decodeURIComponent(location.hash.slice(1));
  tbody.replaceChildren(
    ...body.calls.map((call) => {
      const row = el(
        "tr",
        { class: `call${call.id === selected ? " selected" : ""}`, "data-id": call.id },
        el("td", {}, when(call.started_at)),
        el("td", {}, duration(call.duration)),
        el("td", {}, LINES[call.transport] ?? call.transport ?? ""),
        el("td", {}, call.outcome ?? ""),
        el("td", { class: "muted id" }, cut(call.id, 14)),
      );
      row.onclick = () => {
        location.hash = encodeURIComponent(call.id);
      };
      return row;
    }),
  );
}

function transcript(turns) {
  if (!turns.length) return el("p", { class: "muted" }, "Nothing was said.");
  return el(
    "div",
    { class: "transcript" },
    ...turns.map((t) =>
      el(
        "p",
        { class: `${t.role}${t.interrupted ? " interrupted" : ""}` },
        el("span", { class: "role" }, t.role === "user" ? "Caller" : "Bot"),
        el("span", { class: "said" }, t.interrupted ? `${t.text} …` : t.text),
        t.interrupted ? el("span", { class: "badge cut" }, "interrupted: the caller heard this much") : null,
      ),
    ),
  );
}

function orders(list) {
  if (!list.length) return el("p", { class: "muted" }, "No orders.");
  const fmt = (v) => (Array.isArray(v) ? v.join(", ") || "none" : String(v));
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, el("th", {}, "Tool"), el("th", {}, "Details"))),
    el(
      "tbody",
      {},
      ...list.map((o) =>
        el(
          "tr",
          { class: "order" },
          el("td", {}, o.tool),
          el("td", {}, Object.entries(o.details).map(([k, v]) => `${k}: ${fmt(v)}`).join(" · ")),
        ),
      ),
    ),
  );
}

function latency(turns) {
  const rows = turns
    .filter((t) => t.role === "user")
    .map((t) => ({ label: `“${cut(t.text, 22)}”`, steps: latencySteps(t.timings) }))
    .filter((r) => r.steps);
  if (!rows.length) return el("p", { class: "muted" }, "No answered turns to time.");
  const chart = el("div", { class: "chart" });
  chart.innerHTML = latencyChart(rows);
  const bargeIns = turns.filter((t) => t.role === "user" && t.timings.barge_in);
  const notes = bargeIns.map((t) =>
    el("p", { class: "muted" }, `Barge-in on the reply to “${cut(t.text, 30)}”: the bot went quiet ${Math.round(1000 * t.timings.barge_in)} ms after the caller started speaking.`),
  );
  return el("div", {}, legend(), chart, ...notes);
}

async function showDetail(id) {
  const detail = $("detail");
  for (const row of document.querySelectorAll("tr.call")) row.classList.toggle("selected", row.dataset.id === id);
  if (!id) {
    detail.hidden = true;
    return;
  }
  let call;
  try {
    call = await getJson(`/api/calls/${encodeURIComponent(id)}`);
  } catch (err) {
    detail.replaceChildren(el("p", { class: "muted" }, `Cannot load call ${id}: ${err.message}`));
    detail.hidden = false;
    return;
  }
  const params = Object.entries(call.parameters).map(([k, v]) => el("span", {}, `${k} `, el("b", {}, v)));
  detail.replaceChildren(
    el("h2", {}, `Call ${call.id}`),
    el(
      "div",
      { class: "facts" },
      el("span", {}, "started ", el("b", {}, when(call.started_at))),
      el("span", {}, "duration ", el("b", {}, duration(call.duration))),
      el("span", {}, "line ", el("b", {}, LINES[call.transport] ?? call.transport ?? "")),
      el("span", { class: "outcome" }, "outcome ", el("b", {}, call.outcome ?? "")),
      ...params,
    ),
    call.recording
      ? el("audio", { controls: "", preload: "metadata", src: call.recording })
      : el("p", { class: "muted" }, "No recording."),
    el("h2", {}, "Orders"),
    orders(call.orders),
    el("h2", {}, "Transcript"),
    transcript(call.turns),
    el("h2", {}, "Latency per turn"),
    latency(call.turns),
  );
  detail.hidden = false;
}

const selectFromHash = () => showDetail(decodeURIComponent(location.hash.slice(1)));
window.addEventListener("hashchange", selectFromHash);
await loadList();
await selectFromHash();
setInterval(loadList, 5000);
