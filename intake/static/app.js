// The Switchboard dashboard: plain JS over the /v1 API and the activity WebSocket (no build step).
"use strict";

const M = window.MESSAGES;
const TOKEN_KEY = "switchboard.token";
const AGENT_KEY = "switchboard.agent";
const ACTIVITY_MAX = 60;
const $ = (id) => document.getElementById(id);

const state = { agents: [], refreshTimer: null, socket: null, retry: 1000, lastEventId: 0 };

function token() { return localStorage.getItem(TOKEN_KEY) || ""; }

function banner(text) {
  const el = $("banner");
  el.textContent = text || "";
  el.hidden = !text;
}

let toastTimer = null;
function toast(text, bad) {
  const el = $("toast");
  el.textContent = text;
  el.className = bad ? "bad" : "";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error && body.error.code;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) banner(token() ? M.badToken : M.needToken);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

function urgencyOf(ticket) {
  const t = ticket.triage;
  return t ? { score: t.urgency, label: t.urgency_label } : { score: null, label: "new" };
}

function age(iso) {
  return iso ? M.ago((Date.now() - Date.parse(iso)) / 1000) : "";
}

const ALLOWED = {
  claim: ["assigned", "queued"],
  complete: ["claimed"],
  resolve: ["assigned", "queued", "claimed", "completed"],
};

function actionButtons(ticket) {
  const cell = el("td", { class: "actions" });
  for (const action of ["claim", "complete", "resolve"]) {
    const button = el("button", { type: "button", "data-action": action, class: action }, M.actions[action]);
    button.disabled = !ALLOWED[action].includes(ticket.status);
    button.addEventListener("click", () => act(action, ticket.id, button));
    cell.append(button);
  }
  return cell;
}

function ticketRow(ticket) {
  const u = urgencyOf(ticket);
  const score = u.score === null ? "–" : u.score.toFixed(2);
  const title = el("div", { class: "subject" }, ticket.subject || ticket.body.slice(0, 80));
  const meta = el("div", { class: "id" }, ticket.id + (ticket.requester && ticket.requester.name ? ` · ${ticket.requester.name}` : ""));
  return el("tr", { "data-ticket-id": ticket.id, "data-status": ticket.status },
    el("td", {}, el("span", { class: `badge ${u.label}` }, `${score} ${u.label}`)),
    el("td", {}, title, meta),
    el("td", {}, ticket.triage ? ticket.triage.category : ""),
    el("td", {}, el("span", { class: `status ${ticket.status}` }, ticket.status)),
    el("td", { class: "assignee" }, ticket.assignee || "—"),
    el("td", { class: "age" }, age(ticket.created_at)),
    actionButtons(ticket));
}

function fill(tbodyId, emptyId, countId, tickets, size) {
  $(tbodyId).replaceChildren(...tickets.map(ticketRow));
  $(emptyId).hidden = tickets.length > 0;
  $(countId).textContent = String(size ?? tickets.length);
}

function renderAgents() {
  const chosen = localStorage.getItem(AGENT_KEY);
  const select = $("agent");
  const options = state.agents.filter((a) => a.active).map((a) => el("option", { value: a.id }, `${a.name} (${a.id})`));
  select.replaceChildren(...options);
  if (chosen && state.agents.some((a) => a.id === chosen && a.active)) select.value = chosen;
  const items = state.agents.map((a) => {
    const share = a.capacity ? Math.min(1, a.load / a.capacity) : 1;
    const bar = el("div", { class: "bar" }, el("div", { class: share >= 1 ? "fill full" : "fill" }));
    bar.firstChild.style.width = `${Math.round(share * 100)}%`;
    return el("li", { "data-agent-id": a.id, class: a.active ? "" : "inactive" },
      el("div", { class: "who" }, el("strong", {}, a.name), el("span", { class: "tier" }, a.active ? a.tier : M.inactive)),
      el("div", { class: "load" }, M.load(a.load, a.capacity)),
      bar,
      el("div", { class: "skills" }, (a.skills || []).join(", ") + (a.languages ? ` · ${a.languages.join(" ")}` : "")));
  });
  $("agents").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, M.noAgents)]));
}

async function refresh() {
  try {
    const [queue, work, agents] = await Promise.all([
      api("GET", "/v1/queue?limit=100"),
      api("GET", "/v1/tickets?status=claimed,completed&limit=100"),
      api("GET", "/v1/agents"),
    ]);
    banner("");
    fill("queue", "queue-empty", "queue-size", queue.items, queue.size);
    fill("work", "work-empty", "work-size", work.items);
    state.agents = agents.items;
    renderAgents();
  } catch (error) {
    if (!(error instanceof ApiError)) banner(M.unreachable);
  }
}

function scheduleRefresh() {
  // Bursts of events (a ticket triaged, routed and claimed within a second) cause one refresh.
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 150);
}

function addActivity(event, prepend) {
  if (event.id && event.id <= state.lastEventId && prepend) return;
  state.lastEventId = Math.max(state.lastEventId, event.id || 0);
  const time = event.ts ? new Date(event.ts).toLocaleTimeString() : "";
  const item = el("li", { "data-event-id": event.id, class: event.type },
    el("time", {}, time), el("span", { class: "tid" }, event.ticket_id), el("span", {}, M.event(event)));
  const list = $("activity");
  list.prepend(item);
  while (list.children.length > ACTIVITY_MAX) list.lastChild.remove();
}

async function loadActivity() {
  try {
    const data = await api("GET", "/v1/activity?limit=30");
    $("activity").replaceChildren();
    for (const event of data.events) addActivity(event, false);
  } catch (error) { /* the banner already says why */ }
}

function setLive(text, on) {
  $("live").textContent = text;
  $("live").className = on ? "pill on" : "pill off";
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = token() ? `?token=${encodeURIComponent(token())}` : "";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/activity/stream${query}`);
  state.socket = socket;
  socket.onopen = () => { state.retry = 1000; setLive(M.live, true); refresh(); };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    addActivity(event, true);
    scheduleRefresh();
  };
  socket.onclose = () => {
    if (state.socket !== socket) return;
    setLive(M.reconnecting, false);
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 15000);
  };
}

function reconnect() {
  const old = state.socket;
  state.socket = null;
  if (old) old.close();
  connect();
}

async function act(action, ticketId, button) {
  const agent = $("agent").value;
  if (!agent) { toast(M.noAgent, true); return; }
  button.disabled = true;
  try {
    await api("POST", `/v1/tickets/${encodeURIComponent(ticketId)}/${action}`, { agent_id: agent });
    toast(M.done(action, ticketId), false);
  } catch (error) {
    toast(M.failed(M.actions[action], ticketId, error.message), true);
  }
  refresh();
}

function start() {
  $("token").value = token();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY);
    toast(value ? M.tokenSaved : M.tokenCleared, false);
    banner("");
    refresh();
    loadActivity();
    reconnect();
  });
  $("agent").addEventListener("change", () => localStorage.setItem(AGENT_KEY, $("agent").value));
  refresh();
  loadActivity();
  connect();
  // A slow safety net: ages tick and a missed event cannot leave the page stale for long.
  setInterval(refresh, 15000);
}

start();
