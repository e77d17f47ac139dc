// The wall display: the piece, a live piano roll of the notes as they sound, the tempo and
// loudness curves and what people asked for. It only reads (Server-Sent Events from
// /api/display) and sends nothing. Plain JavaScript, no libraries, nothing from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const ROLL_MS = 8000;  // music across the roll
const NOW_AT = 0.94;  // where "now" is, as a share of the roll's width
const LOW = 21, HIGH = 108;  // the piano's keys (MIDI)
const MAX_NOTES = 3000;  // notes kept for drawing
const MAX_LINES = 6;  // lines shown
const MAX_POINTS = 120;  // bars in the curves
const MIN_SPAN = 24;  // bars across the plot at least
const TEMPO_RANGE = [20, 220];
const LOUDNESS_RANGE = [0, 127];
const FRAMES_KEPT = 600;
const SHOWN_ACTIONS = /^(joined|left|next piece|play .+|pause|play|stop|from the beginning|bar \d+)$/;

const params = new URLSearchParams(location.search);
let lang = params.get("lang") || localStorage.getItem("lang") || (navigator.language || "en").slice(0, 2);
if (!TEXT[lang]) lang = "en";

const view = {
  notes: [], sounding: new Map(), positions: [], bars: 0, state: "", plain: null,
  frames: [], draws: [], last: 0, received: 0, curvesDirty: true, events: 0,
};

function t(key, values) {
  let text = (TEXT[lang] || TEXT.en)[key] || TEXT.en[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}
function translate() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

// --- what arrives ------------------------------------------------------------------------------

function onMessage(msg) {
  view.events += 1;
  switch (msg.type) {
    case "now_playing":
      $("composer").textContent = msg.composer;
      $("title").removeAttribute("data-i18n");
      $("title").setAttribute("translate", "no");  // names, not words of the page
      $("composer").setAttribute("translate", "no");
      $("title").textContent = msg.title;
      document.title = `${msg.title} — ${msg.composer}`;
      view.bars = msg.bars;
      view.positions = [];
      view.curvesDirty = true;
      break;
    case "position":
      addPosition(msg);
      break;
    case "history":
      view.positions = [];
      for (const p of msg.positions) addPosition(p);
      for (const line of msg.lines) addLine(line, false);
      break;
    case "transport": view.state = msg.state; showWhere(); break;
    case "notes": addNotes(msg.notes); break;
    case "direction": case "action": addLine(msg, true); break;
    case "moved": view.positions.push(null); view.curvesDirty = true; break;  // a gap in the curves
  }
}

function addPosition(p) {
  view.positions.push(p);
  if (view.positions.length > MAX_POINTS) view.positions.shift();
  view.curvesDirty = true;
  showWhere();
}

function showWhere() {
  const last = [...view.positions].reverse().find((p) => p);
  const parts = [];
  if (last && view.bars) parts.push(t("displayBar", { bar: last.bar, bars: view.bars }));
  if (view.state) parts.push(t(view.state));
  if (last) parts.push(`${Math.round(last.tempo_bpm)} ♩/min`);
  $("where").textContent = parts.join(" · ");
}

function addNotes(items) {
  const now = performance.now();
  view.received += items.length;
  for (const item of items) {
    if (!Array.isArray(item) || item.length !== 3) continue;
    const [pitch, velocity, ago] = item.map(Number);
    const at = now - Math.min(Math.max(ago, 0), 2000);
    if (pitch < 0) {  // every key up
      for (const note of view.sounding.values()) note.off = at;
      view.sounding.clear();
      continue;
    }
    const old = view.sounding.get(pitch);
    if (old) { old.off = at; view.sounding.delete(pitch); }
    if (velocity > 0 && pitch >= LOW && pitch <= HIGH) {
      const note = { pitch, velocity: Math.min(127, velocity), on: at, off: null };
      view.notes.push(note);
      view.sounding.set(pitch, note);
    }
  }
  if (view.notes.length > MAX_NOTES) view.notes.splice(0, view.notes.length - MAX_NOTES);
}

// --- who asked for what --------------------------------------------------------------------------

function directionWords(cls, strength, words) {
  const said = words.classes[cls] && words.classes[cls][strength >= 0 ? "+" : "-"];
  if (!said) return cls;
  const size = Math.abs(strength);
  if (size < 0.75) return words.little.replace("{words}", said);
  if (size > 1.5) return words.much.replace("{words}", said);
  return said;
}

function described(msg) {
  const words = view.plain && (view.plain[lang] || view.plain.en);
  const items = Array.isArray(msg.directions) ? msg.directions : [];
  if (!words) return items.join(", ");
  return items.map((item) => {
    const fields = String(item).split(" ");
    if (fields.length === 1 && words[fields[0]]) return words[fields[0]].split(" — ")[0];
    return fields.length === 3 ? directionWords(fields[0], parseFloat(fields[1]), words) : "";
  }).filter(Boolean).join(words.joiner);
}

function lineText(msg) {
  if (msg.type === "action") {
    const keys = { joined: "joined", left: "left", "next piece": "nextPiece", pause: "pause",
      play: "play", stop: "stopped", "from the beginning": "fromBeginning" };
    let m;
    if (keys[msg.what]) return t(keys[msg.what]);
    if ((m = msg.what.match(/^bar (\d+)$/))) return t("fromBar", { bar: m[1] });
    if ((m = msg.what.match(/^play (.+)$/))) return t("playPiece", { piece: m[1] });
    return msg.what;
  }
  const text = String(msg.text || "").trim();
  const meaning = described(msg);
  if (msg.source === "face" && text) return text;  // "smiling → gentler" already
  if (!text || text.toLowerCase() === meaning.toLowerCase()) return meaning;
  return meaning ? `“${text}” → ${meaning}` : `“${text}”`;
}

function addLine(msg, fresh) {
  if (msg.type === "action" && !SHOWN_ACTIONS.test(String(msg.what))) return;
  const item = document.createElement("li");
  item.className = msg.type + (fresh ? " fresh" : "");
  if (msg.who) {
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = String(msg.who).slice(0, 40);
    item.append(who, ": ");
  }
  item.append(lineText(msg).slice(0, 200));
  $("lines").prepend(item);
  while ($("lines").children.length > MAX_LINES) $("lines").lastChild.remove();
  $("no-lines").hidden = true;
}

// --- drawing -------------------------------------------------------------------------------------

function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * ratio), h = Math.round(canvas.clientHeight * ratio);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; return true; }
  return false;
}

// Loudness is shown three ways: colour (blue → amber), thickness and opacity.
function noteStyle(velocity) {
  const share = velocity / 127;
  return { colour: `hsl(${Math.round(215 - 175 * share)} ${Math.round(80 + 20 * share)}% ${Math.round(58 + 4 * share)}% / ${(0.45 + 0.55 * share).toFixed(2)})`,
    thickness: 0.3 + 0.75 * share };
}

function drawRoll(now) {
  const canvas = $("roll"), ctx = canvas.getContext("2d");
  fit(canvas);
  const w = canvas.width, h = canvas.height, ratio = window.devicePixelRatio || 1;
  const left = 44 * ratio, nowX = left + (w - left) * NOW_AT, perMs = (nowX - left) / ROLL_MS;
  const pad = 10 * ratio, row = (h - 2 * pad) / (HIGH - LOW + 1);
  ctx.clearRect(0, 0, w, h);
  ctx.font = `${Math.round(12 * ratio)}px system-ui, sans-serif`;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (let pitch = 24; pitch <= HIGH; pitch += 12) {  // every C, labelled
    const y = h - pad - (pitch - LOW + 0.5) * row;
    ctx.fillStyle = "#2c303b"; ctx.fillRect(left, y, w - left, 1);
    ctx.fillStyle = "#c3c6cf"; ctx.fillText(`C${pitch / 12 - 1}`, left - 6 * ratio, y);
  }
  ctx.fillStyle = "#f4f4f6"; ctx.fillRect(nowX, 0, 2 * ratio, h);
  const oldest = now - ROLL_MS * 1.1;
  let keep = 0;
  while (keep < view.notes.length && view.notes[keep].off !== null && view.notes[keep].off < oldest) keep++;
  if (keep) view.notes.splice(0, keep);
  for (const note of view.notes) {
    const x0 = nowX - (now - note.on) * perMs;
    const x1 = nowX - (now - (note.off === null ? now : note.off)) * perMs;
    if (x1 < left) continue;
    const style = noteStyle(note.velocity);
    const height = Math.max(2, row * 2.2 * style.thickness);
    const y = h - pad - (note.pitch - LOW + 0.5) * row - height / 2;
    ctx.fillStyle = style.colour;
    ctx.fillRect(Math.max(left, x0), y, Math.max(2, x1 - Math.max(left, x0)), height);
  }
}

function drawCurves() {
  const canvas = $("curves"), ctx = canvas.getContext("2d");
  const resized = fit(canvas);
  if (!view.curvesDirty && !resized) return;
  view.curvesDirty = false;
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.width, h = canvas.height, left = 52 * ratio, right = 52 * ratio;
  const top = 10 * ratio, bottom = 26 * ratio, plotW = w - left - right, plotH = h - top - bottom;
  ctx.clearRect(0, 0, w, h);
  ctx.font = `${Math.round(14 * ratio)}px system-ui, sans-serif`;
  ctx.strokeStyle = "#3a3e4a"; ctx.lineWidth = ratio; ctx.setLineDash([]);
  ctx.strokeRect(left, top, plotW, plotH);
  const axes = [[TEMPO_RANGE, "#ffb020", left - 6 * ratio, "right"], [LOUDNESS_RANGE, "#6ec3ff", w - right + 6 * ratio, "left"]];
  for (const [[lo, hi], colour, x, align] of axes) {
    ctx.fillStyle = colour; ctx.textAlign = align; ctx.textBaseline = "middle";
    for (let i = 0; i <= 2; i++) ctx.fillText(String(Math.round(lo + ((hi - lo) * i) / 2)), x, top + plotH - (plotH * i) / 2);
  }
  const shown = view.positions;
  ctx.fillStyle = "#c3c6cf"; ctx.textBaseline = "alphabetic"; ctx.textAlign = "center";
  ctx.fillText(t("axisBars"), left + plotW / 2, h - 6 * ratio);
  const span = Math.max(shown.length - 1, MIN_SPAN);  // the curves fill the plot as bars come
  const xOf = (i) => left + (i / span) * plotW;
  const real = shown.filter((p) => p);
  if (real.length) {
    ctx.textAlign = "left"; ctx.fillText(String(real[0].bar), left, h - 6 * ratio);
    const lastX = xOf(shown.lastIndexOf(real[real.length - 1]));
    if (lastX - left > 60 * ratio) { ctx.textAlign = "center"; ctx.fillText(String(real[real.length - 1].bar), lastX, h - 6 * ratio); }
  }
  const lines = [["tempo_bpm", "#ffb020", TEMPO_RANGE, []], ["velocity", "#6ec3ff", LOUDNESS_RANGE, [10 * ratio, 6 * ratio]]];
  for (const [field, colour, [lo, hi], dash] of lines) {
    ctx.strokeStyle = colour; ctx.lineWidth = 3 * ratio; ctx.setLineDash(dash); ctx.beginPath();
    let pen = false, end = null;
    shown.forEach((p, i) => {
      if (!p) { pen = false; return; }
      const x = xOf(i);
      const y = top + plotH - Math.min(1, Math.max(0, (p[field] - lo) / (hi - lo))) * plotH;
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
      end = [x, y, p[field]];
    });
    ctx.stroke();
    if (end) {  // the value now, next to the line's end (not by colour alone)
      ctx.fillStyle = colour; ctx.textAlign = "left"; ctx.textBaseline = "middle";
      ctx.fillText(`${Math.round(end[2])} ${field === "tempo_bpm" ? "♩/min" : "♪"}`, Math.min(end[0] + 8 * ratio, left + plotW - 70 * ratio), end[1] - 12 * ratio);
    }
  }
  ctx.setLineDash([]);
}

function frame(now) {
  if (view.last) {
    view.frames.push(now - view.last);
    if (view.frames.length > FRAMES_KEPT) view.frames.shift();
  }
  view.last = now;
  const start = performance.now();
  drawRoll(now);
  drawCurves();
  view.draws.push(performance.now() - start);
  if (view.draws.length > FRAMES_KEPT) view.draws.shift();
  requestAnimationFrame(frame);
}

// Frame times (ms) for the browser test: between frames and drawing one.
function frameStats() {
  const sorted = (xs) => [...xs].sort((a, b) => a - b);
  const pick = (xs, q) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] : 0);
  const gaps = sorted(view.frames), draws = sorted(view.draws);
  const mean = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : 0;
  return { frames: gaps.length, mean_ms: mean, p95_ms: pick(gaps, 0.95), max_ms: pick(gaps, 1),
    over_33ms: gaps.filter((g) => g > 1000 / 30 + 0.5).length, draw_mean_ms: draws.length ? draws.reduce((a, b) => a + b, 0) / draws.length : 0,
    draw_p95_ms: pick(draws, 0.95), notes: view.notes.length, received: view.received };
}
window.display = { view, frameStats, resetFrames: () => { view.frames = []; view.draws = []; view.last = 0; } };

function connect() {
  const source = new EventSource("/api/display");
  source.onmessage = (m) => {
    $("offline").hidden = true;
    try { onMessage(JSON.parse(m.data)); } catch (e) { /* ignore a bad message */ }
  };
  source.onerror = () => { $("offline").hidden = false; };  // EventSource tries again by itself
}

translate();
fetch("/static/plain.json").then((r) => r.json()).then((table) => { view.plain = table; }).catch(() => {});
connect();
requestAnimationFrame(frame);
