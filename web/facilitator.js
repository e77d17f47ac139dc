// The facilitator's page: unlocked with the facilitator's PIN (a cookie the box sets), then
// the room's controls. Every action is checked again by the box. Plain JavaScript, nothing
// from the internet; words from i18n.js (the fac… keys).
"use strict";

const $ = (id) => document.getElementById(id);
const POLL = 1500;  // ms between looks at the room
const fac = {
  lang: localStorage.getItem("lang") || (navigator.language || "en").slice(0, 2),
  state: null, timer: 0, editing: false,
};
if (!TEXT[fac.lang]) fac.lang = "en";

function t(key, values) {
  let text = (TEXT[fac.lang] || TEXT.en)[key] || TEXT.en[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}
function translate() {
  document.documentElement.lang = fac.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  if (fac.state) render(fac.state);
}
function show(id) {
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== id;
}
function said(text) { $("fac-said").textContent = text; }

async function call(method, path, body) {
  const response = await fetch(path, {
    method, credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  return { status: response.status, data };
}

async function unlock() {
  const pin = $("fac-pin").value.trim();
  const { status, data } = await call("POST", "/api/facilitator/unlock", { pin });
  const error = $("fac-unlock-error");
  if (status === 200) {
    error.hidden = true;
    $("fac-pin").value = "";
    if (await refresh()) health();  // the box's health, as on a page opened unlocked
    return;
  }
  error.hidden = false;
  error.textContent = status === 429 ? t("facWait", { s: data.retry_after || 1 })
    : status === 409 ? t("facNoPin") : t("facWrongPin");
}

async function act(action, extra) {
  const { status, data } = await call("POST", "/api/facilitator/act", { action, ...(extra || {}) });
  if (status === 403) { show("unlock"); return; }
  if (status !== 200) { said(t("facRefused", { message: data.error || status })); return; }
  said(t("facDone", { what: data.done }));
  render(data.state);
}

async function refresh() {
  const { status, data } = await call("GET", "/api/facilitator/state");
  if (status !== 200) { show("unlock"); return false; }
  show("room");
  render(data);
  return true;
}

const HEALTH_MARKS = { ok: "✓", warning: "!", problem: "✗", skipped: "–" };

async function health() {
  const { status, data } = await call("GET", "/api/facilitator/health");
  if (status !== 200) { $("fac-health-said").textContent = data.error || ""; return; }
  $("fac-health-said").textContent = t(data.ok ? "facHealthOk" : "facHealthWrong");
  $("fac-health").replaceChildren(...data.checks.map((check) => {
    const li = document.createElement("li");
    li.className = `health-${check.status}`;
    const text = `${HEALTH_MARKS[check.status] || ""} ${check.name}: ${check.found}`;
    li.textContent = check.todo ? `${text} — ${check.todo}` : text;
    return li;
  }));
}

function phoneItem(phone) {
  const li = document.createElement("li");
  li.dataset.phone = phone.id;
  const status = !phone.paired ? "facListening" : phone.locked ? "facLocked"
    : phone.waiting ? "facWaiting" : "facConducts";
  li.className = phone.locked ? "locked" : phone.waiting ? "waiting" : "";
  const name = document.createElement("span");
  name.className = "name"; name.textContent = phone.name;
  const state = document.createElement("span");
  state.className = "status"; state.textContent = t(status);
  li.append(name, state);
  const button = (key, action, extra, kind) => {
    const b = document.createElement("button");
    b.className = kind || "secondary"; b.textContent = t(key);
    b.dataset.action = action;
    b.setAttribute("aria-label", `${t(key)}: ${phone.name}`);
    b.onclick = () => act(action, { phone: phone.id, ...(extra || {}) });
    li.append(b);
  };
  if (phone.paired) {
    if (phone.waiting) button("facLetIn", "approve", {}, "primary");
    if (phone.locked) button("facUnlockPhone", "lock", { on: false });
    else button("facLock", "lock", { on: true });
  }
  button("facRemove", "remove", {}, "danger");
  return li;
}

function render(state) {
  fac.state = state;
  const rules = state.rules;
  if (!fac.editing) {
    $("fac-ceiling").value = rules.ceiling; $("fac-ceiling-value").textContent = rules.ceiling;
    $("fac-volume").value = state.volume; $("fac-volume-value").textContent = state.volume;
  }
  const off = rules.locked_all;
  $("fac-handsoff").setAttribute("aria-pressed", String(off));
  $("fac-handsoff").textContent = t(off ? "facHandsOn" : "facHandsOff");
  $("fac-approval").checked = rules.approval;
  $("fac-microphone").value = rules.microphone;
  $("fac-camera").value = rules.camera;
  $("fac-keep-feedback").checked = rules.keep === "feedback";
  $("fac-keep-all").checked = rules.keep === "everything";
  const list = $("fac-phones");
  list.replaceChildren(...state.phones.map(phoneItem));
  $("fac-no-phones").hidden = state.phones.length > 0;
  $("fac-summary-now").textContent = t("facSummaryNow",
    { pieces: state.summary.pieces.length, asked: state.summary.asked.length });
  $("fac-last").hidden = !state.last_summary;
}

function slider(id, action) {
  const input = $(id), out = $(`${id}-value`);
  input.oninput = () => { fac.editing = true; out.textContent = input.value; };
  input.onchange = async () => {
    await act(action, { percent: Number(input.value) });
    fac.editing = false;
  };
}

function wire() {
  $("fac-language").value = fac.lang;
  $("fac-language").onchange = () => {
    fac.lang = $("fac-language").value; localStorage.setItem("lang", fac.lang); translate();
  };
  $("fac-unlock").onclick = unlock;
  $("fac-pin").onkeydown = (e) => { if (e.key === "Enter") unlock(); };
  slider("fac-ceiling", "ceiling");
  slider("fac-volume", "volume");
  $("fac-calm").onclick = () => act("calm");
  $("fac-handsoff").onclick = () => act("lock_all", { on: !(fac.state && fac.state.rules.locked_all) });
  $("fac-approval").onchange = () => act("approval", { on: $("fac-approval").checked });
  $("fac-microphone").onchange = () => act("microphone", { policy: $("fac-microphone").value });
  $("fac-camera").onchange = () => act("camera", { policy: $("fac-camera").value });
  for (const radio of document.querySelectorAll("input[name=keep]")) {
    radio.onchange = () => act("keep", { what: radio.value });
  }
  $("fac-end").onclick = () => { if (window.confirm(t("facEndConfirm"))) act("end_session"); };
  $("fac-health-again").onclick = health;
}

wire();
translate();
refresh().then((unlocked) => {
  if (unlocked) health();
  fac.timer = setInterval(() => { if (!$("room").hidden) refresh(); }, POLL);
});
window.facilitator = { fac, act, refresh };
