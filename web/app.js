// The phone app: greeting → camera/microphone → pairing → camera + walkie-talkie button.
// Plain JavaScript, no libraries, nothing from the internet. Words: i18n.js and plain.json.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_POINTS = 120;  // bars shown in the curves
const TEMPO_RANGE = [20, 220];  // beats per minute
const LOUDNESS_RANGE = [0, 127];  // MIDI velocity

const state = {
  lang: localStorage.getItem("lang") || (navigator.language || "en").slice(0, 2),
  token: localStorage.getItem("token") || "",
  stream: null, pc: null, channel: null, paired: false, playing: true,
  curves: [], analyser: null, events: [], seen: [], sentVideo: [], plain: null,
};
if (!TEXT[state.lang]) state.lang = "en";

function t(key, values) {
  let text = (TEXT[state.lang] || TEXT.en)[key] || TEXT.en[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}
function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  $("playpause").textContent = state.playing ? t("pause") : t("play");
  setPaired(state.paired);
  showSeenWords();
  showFarewell();
  drawCurves();
}
function show(id) {
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== id;
}

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// What is sent while the connection is still opening goes when it opens (a few at most), so
// that a command given at once after pairing is not lost.
const WAITING_MAX = 10;
const waiting = [];
function send(event) {
  const channel = state.channel;
  if (channel && channel.readyState === "open") channel.send(JSON.stringify(event));
  else if (channel && channel.readyState === "connecting" && waiting.length < WAITING_MAX) waiting.push(event);
}

function log(text) {
  const item = document.createElement("li");
  item.textContent = text;
  $("activity").prepend(item);
  while ($("activity").children.length > 30) $("activity").lastChild.remove();
}

// Near the talk button: what the box understood or has to say, in plain words.
function say(text) { $("said").textContent = text; }

// --- what the box did, in the phone's language ------------------------------------------------

function directionWords(cls, strength, words) {
  const said = words.classes[cls][strength >= 0 ? "+" : "-"];
  const size = Math.abs(strength);
  if (size < 0.75) return words.little.replace("{words}", said);
  if (size > 1.5 && !said.startsWith(words.much.split(" ")[0])) return words.much.replace("{words}", said);
  return said;
}

// The same wording as appliance/directions/plain.py, from the same table.
function describeDirections(directions, bar, text) {
  const words = state.plain && (state.plain[state.lang] || state.plain.en);
  if (!words) return `${text}: ${directions.join(", ")}`;
  const parts = [];
  let scope = "from_now";
  for (const item of directions) {
    const fields = item.split(" ");
    if (fields.length === 1 && (fields[0] === "undo" || fields[0] === "reset")) {
      parts.push(words[fields[0]].replace("{bar}", bar));
      scope = "";
      continue;
    }
    if (fields.length !== 3 || !words.classes[fields[0]]) continue;
    parts.push(directionWords(fields[0], parseFloat(fields[1]), words));
    scope = fields[2];
  }
  let line = parts.join(words.joiner);
  if (words[scope] && ["here", "from_now", "until_told"].includes(scope)) line += " — " + words[scope].replace("{bar}", bar);
  const quoted = text && text.trim() ? words.said.replace("{text}", text.trim()) : "";
  if (!quoted) return line.charAt(0).toUpperCase() + line.slice(1);
  return `${quoted}: ${line}`;
}

const FEEDBACK_KEYS = { "like": "like", "dislike": "dislike", "too fast": "tooFast", "too slow": "tooSlow",
  "too loud": "tooLoud", "too soft": "tooSoft" };

// The box's who-did-what wording (English, from appliance/perform/commands.py) in this language.
function whatText(what) {
  const exact = { "joined": "joined", "joined (listening)": "joinedListening", "left": "left",
    "from the beginning": "fromBeginning", "back a phrase": "backPhrase",
    "this phrase again": "phraseAgain", "next piece": "nextPiece", "speaking": "speakingAct",
    "pause": "pause", "play": "play", "stop": "stopped" };
  if (exact[what]) return t(exact[what]);
  let m;
  if ((m = what.match(/^bar (\d+)$/))) return t("fromBar", { bar: m[1] });
  if ((m = what.match(/^volume (\d+) %$/))) return t("volume", { n: m[1] });
  if ((m = what.match(/^spoke \(([\d.]+) s recorded\)$/))) return t("spoke", { s: m[1] });
  if ((m = what.match(/^feedback: (.+)$/))) return t("feedbackAct", { kind: t(FEEDBACK_KEYS[m[1]] || m[1]) });
  if ((m = what.match(/^paired \(was .+\)$/))) return t("pairedWas");
  if ((m = what.match(/^play (.+)$/))) return t("playPiece", { piece: m[1] });
  // the facilitator's (appliance/web/facilitator.py)
  if ((m = what.match(/^volume ceiling (\d+) %$/))) return t("actCeiling", { n: m[1] });
  if (what === "hands off: all phones") return t("actHandsOff");
  if (what === "hands on") return t("actHandsOn");
  if ((m = what.match(/^hands off: (.+)$/))) return t("actHandsOffOne", { name: m[1] });
  if ((m = what.match(/^hands on: (.+)$/))) return t("actHandsOnOne", { name: m[1] });
  if ((m = what.match(/^removed (.+)$/))) return t("actRemoved", { name: m[1] });
  if ((m = what.match(/^(.+) may conduct$/))) return t("actMayConduct", { name: m[1] });
  if ((m = what.match(/^(microphone|camera) (off|on while the button is held)$/))) {
    return t(`act${m[1] === "microphone" ? "Microphone" : "Camera"}${m[2] === "off" ? "Off" : "Held"}`);
  }
  if (what.startsWith("calm: ")) return t("actCalm");
  if (what.startsWith("ended the session")) return t("actEnded");
  return what;  // a quoted direction, in the words it was given
}

// --- what the box reads in this person's face, while the button is held -------------------------
// The box sends "seen" about 4 times a second to the phone whose button is held. The words say it
// in this phone's language; four bars show how strongly each expression is read. The reading
// hides SEEN_HIDE_MS after the box's last one. The words are a polite live region: they change
// only when the sentence shown changes (a changed expression must be read twice in a row, a nod's
// beat must move by BEAT_STEP), so that a screen reader is not talking four times a second.
const FACES = ["smile", "brows", "frown", "pursed"];  // the order of event.levels
const SEEN_KEYS = { smile: "seenSmile", brows: "seenBrows", frown: "seenFrown", pursed: "seenPursed",
  neutral: "seenNeutral", "": "seenNoFace" };
const SEEN_HIDE_MS = 2000;
const SEEN_FADE_MS = 400;  // style.css: .seen's transition
const GESTURE_HOLD_MS = 1500;  // a nod or a head shake stays readable at least this long
const BEAT_STEP = 5;  // beats per minute
const seen = { shown: null, last: null, holdUntil: 0, hideTimer: 0, clearTimer: 0 };

function clamp01(value) {
  const x = typeof value === "number" ? value : NaN;
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

// What one reading says: {key, bpm} for a sentence of i18n.js, or {english} for the box's own
// words (an expression this page does not know yet); null when there is nothing to say.
function seenMeaning(event) {
  if (event.gesture === "shake") return { key: "seenShake", gesture: true };
  if (event.gesture === "nod") {
    const bpm = typeof event.nod_bpm === "number" && Number.isFinite(event.nod_bpm)
      ? Math.round(Math.min(400, Math.max(0, event.nod_bpm))) : 0;
    return bpm > 0 ? { key: "seenNod", bpm, gesture: true } : { key: "seenNodPlain", gesture: true };
  }
  if (typeof event.expression !== "string") return null;  // malformed: the words stay
  if (Object.prototype.hasOwnProperty.call(SEEN_KEYS, event.expression)) return { key: SEEN_KEYS[event.expression] };
  if (typeof event.words === "string" && event.words.trim()) return { english: event.words.trim().slice(0, 120) };
  return null;
}
function sameMeaning(a, b) {
  if (!a || !b || a.key !== b.key || a.english !== b.english) return false;
  return a.key !== "seenNod" || Math.abs(a.bpm - b.bpm) < BEAT_STEP;
}
function seenText(meaning) {
  return meaning.key ? t(meaning.key, { bpm: meaning.bpm }) : meaning.english;
}
function showSeenWords() {
  const text = seen.shown ? seenText(seen.shown) : "";
  if ($("seen-words").textContent !== text) $("seen-words").textContent = text;
}

function onSeen(event) {
  const raw = Array.isArray(event.levels) ? event.levels : [];
  const expression = typeof event.expression === "string" ? event.expression : "";
  FACES.forEach((face, i) => {
    const value = Math.round(clamp01(raw[i]) * 100);
    const row = document.querySelector(`#seen-meter [data-face="${face}"]`);
    const bar = row.querySelector("[role=meter]");
    bar.setAttribute("aria-valuenow", String(value));
    bar.firstElementChild.style.width = `${value}%`;
    row.classList.toggle("now", face === expression);  // also in bold, not by colour alone
  });
  const meaning = seenMeaning(event);
  const now = Date.now();
  const fresh = !$("seen").classList.contains("shown");
  if (meaning && !sameMeaning(meaning, seen.shown)) {
    // a nod or shake at once; an expression once it is read twice in a row and no gesture is
    // still being shown; anything at once when the reading was not shown
    const steady = sameMeaning(meaning, seen.last) && now >= seen.holdUntil;
    if (fresh || meaning.gesture || steady) {
      seen.shown = meaning;
      seen.holdUntil = meaning.gesture ? now + GESTURE_HOLD_MS : 0;
    }
  }
  seen.last = meaning;
  showSeenWords();
  clearTimeout(seen.hideTimer);
  clearTimeout(seen.clearTimer);
  $("seen").classList.add("shown");
  seen.hideTimer = setTimeout(hideSeen, SEEN_HIDE_MS);
}

function hideSeen() {
  $("seen").classList.remove("shown");
  // once faded, forget the sentence: the next reading is said again
  const fade = matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : SEEN_FADE_MS;
  seen.clearTimer = setTimeout(() => { seen.shown = null; seen.last = null; showSeenWords(); }, fade);
}

const KEEP_SEEN = 100;  // readings kept (they come a few times a second while the button is held)

function onEvent(event) {
  if (event.type === "seen") {  // kept apart, and only the latest, so a long hold costs nothing
    state.seen.push(event);
    if (state.seen.length > KEEP_SEEN) state.seen.splice(0, state.seen.length - KEEP_SEEN);
  } else if (state.events.length < 5000) {
    state.events.push(event);  // what happened (the tests read it); bounded all the same
  }
  switch (event.type) {
    case "now_playing":
      $("now-playing").textContent = `${event.composer}: ${event.title}`;
      state.curves = [];
      drawCurves();
      break;
    case "position":
      state.curves.push([event.tempo_bpm, event.velocity, event.bar]);
      if (state.curves.length > MAX_POINTS) state.curves.shift();
      drawCurves();
      break;
    case "transport":
      state.playing = event.state === "playing";
      $("playpause").textContent = state.playing ? t("pause") : t("play");
      log(`■ ${t(event.state)}`);
      break;
    case "moved": log(`⤺ ${t("fromBar", { bar: event.bar })}`); break;
    case "action": log(`${event.who === "facilitator" ? t("facilitatorWho") : event.who}: ${whatText(event.what)}`); break;
    case "direction_applied": {
      const line = describeDirections(event.directions, event.from_bar, event.text);
      say(line);
      log(`→ ${event.who ? event.who + ": " : ""}${line}`);
      break;
    }
    case "piece_ended": log(`● ${t("pieceEnded")}`); break;
    case "heard":  // what the box heard while the button is held, then the final text
      $("heard").textContent = event.text ? `“${event.text}”` : (event.final ? "" : "…");
      $("heard").classList.toggle("final", event.final);
      break;
    case "reply": say(event.text); break;  // already in this phone's language
    case "seen": onSeen(event); break;  // what the box reads in this face
    case "notice":
      if (event.kind === "loading") say(t("loading"));
      else if (event.kind === "paired") { setPaired(true); say(t("pairedNow")); show("main"); }
      else if (event.kind === "room") { Object.assign(room, roomRules(event.message)); showRoom(); }
      else if (event.kind === "locked") { room.lockedMe = true; showRoom(); }
      else if (event.kind === "unlocked") {
        const was = isLocked();
        room.lockedMe = false; room.waiting = false;
        showRoom();
        if (was && !isLocked()) say(t("handsOn"));
      } else if (event.kind === "ended" || event.kind === "removed") farewell(event.kind);
      break;
    case "problem": case "error": {
      const refusal = refused(event.message);  // the room's refusals, in this phone's words
      const text = refusal ? t(refusal) : t("problem", { message: event.message });
      say(text);
      log(`! ${refusal ? text : event.message}`);
      break;
    }
  }
}

// Drawn at the canvas's size on screen, its labels at the page's text size (they grow with the
// phone's text-size setting like the rest of the page).
function drawCurves() {
  const canvas = $("curves"), ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * ratio), height = Math.round(canvas.clientHeight * ratio);
  if (width && height && (canvas.width !== width || canvas.height !== height)) {
    canvas.width = width; canvas.height = height;
  }
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 18;
  const u = (0.75 * rem * ratio) / 13;  // one unit of the layout (13 units: the labels' size)
  const w = canvas.width, h = canvas.height, left = 40 * u, right = 40 * u, top = 8 * u, bottom = 24 * u;
  const plotW = w - left - right, plotH = h - top - bottom;
  ctx.clearRect(0, 0, w, h);
  ctx.font = `${Math.round(13 * u)}px system-ui, sans-serif`;
  ctx.strokeStyle = "#3a3e4a"; ctx.lineWidth = u;
  ctx.strokeRect(left, top, plotW, plotH);
  const axes = [[TEMPO_RANGE, "#ffb020", left - 6 * u, "right"], [LOUDNESS_RANGE, "#6ec3ff", w - right + 6 * u, "left"]];
  for (const [[lo, hi], colour, x, align] of axes) {
    ctx.fillStyle = colour; ctx.textAlign = align;
    for (let i = 0; i <= 2; i++) {
      const value = lo + ((hi - lo) * i) / 2;
      ctx.fillText(String(Math.round(value)), x, top + plotH - (plotH * i) / 2 + 4 * u);
    }
  }
  ctx.fillStyle = "#b9bcc6"; ctx.textAlign = "center";
  const first = state.curves.length ? state.curves[0][2] : "";
  const last = state.curves.length ? state.curves[state.curves.length - 1][2] : "";
  ctx.fillText(t("axisBars"), left + plotW / 2, h - 6 * u);
  ctx.textAlign = "left"; ctx.fillText(String(first), left, h - 6 * u);
  ctx.textAlign = "right"; ctx.fillText(String(last), left + plotW, h - 6 * u);
  // loudness dashed, as in the legend: not told apart by colour alone
  const lines = [[0, "#ffb020", TEMPO_RANGE, []], [1, "#6ec3ff", LOUDNESS_RANGE, [9 * u, 5 * u]]];
  for (const [index, colour, [lo, hi], dash] of lines) {
    ctx.strokeStyle = colour; ctx.lineWidth = 3 * u; ctx.setLineDash(dash); ctx.beginPath();
    state.curves.forEach((row, i) => {
      const x = left + (i / (MAX_POINTS - 1)) * plotW;
      const share = Math.min(1, Math.max(0, (row[index] - lo) / (hi - lo)));
      const y = top + plotH - share * plotH;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

// --- the room's rules, as the facilitator sets them (appliance/perform/room.py) -------------------
// The box tells every phone the rules when they change and when it connects (a notice of kind
// "room", in the words of room.py's describe()), tells a phone when it alone is locked ("locked",
// "unlocked"), and refuses what they forbid with words of room.py. The page shows them in a polite
// live region above the talk button, with a sign and words (not by colour alone), and acts on them:
// locked, the controls are disabled and described by the reason; the microphone off, the talk
// button says so and sends no sound; the camera off, the camera panel says so and sends no picture.
const room = { microphone: "held", camera: "held", ceiling: 100, lockedAll: false, lockedMe: false,
  waiting: false, gone: "" };

// "microphone off, camera on while the button is held, volume at most 35 %, hands off"
function roomRules(message) {
  const rules = { microphone: "held", camera: "held", ceiling: 100, lockedAll: false };
  for (const part of String(message || "").split(", ")) {
    let m;
    if ((m = part.match(/^(microphone|camera) (off|on while the button is held)$/))) rules[m[1]] = m[2] === "off" ? "off" : "held";
    else if ((m = part.match(/^volume at most (\d+) %$/))) rules.ceiling = Number(m[1]);
    else if (part === "hands off") rules.lockedAll = true;
  }
  return rules;
}

// A refusal of the room's (room.py: LOCKED_ALL, LOCKED_ONE, WAITING; hub.py): its key, the rule
// it shows noted; null for any other problem.
function refused(message) {
  const text = String(message || "");
  if (text.startsWith("hands off:")) {
    if (text.includes("this phone")) room.lockedMe = true; else room.lockedAll = true;
  } else if (text.startsWith("waiting:")) room.waiting = true;
  else if (text === "the microphone and the camera are off in this room") { room.microphone = "off"; room.camera = "off"; }
  else return null;
  showRoom();
  return text.startsWith("the microphone") ? "roomMediaOff" : lockReason();
}

function isLocked() { return state.paired && (room.lockedAll || room.lockedMe || room.waiting); }
function lockReason() { return room.waiting ? "roomWaiting" : room.lockedMe ? "roomLockedMe" : "roomLockedAll"; }
function mediaOff() { return room.microphone === "off" && room.camera === "off"; }
// Why the talk button cannot be held now ("" when it can).
function talkBlocked() { return isLocked() ? "talkLocked" : mediaOff() ? "talkMediaOff" : ""; }
function controlsOff() { return !state.paired || isLocked(); }

function showRoom() {
  const lines = [];
  if (isLocked()) lines.push(["locked", t(lockReason())]);
  if (mediaOff()) lines.push(["media", t("roomMediaOff")]);
  else if (room.microphone === "off") lines.push(["media", t("roomMicOff")]);
  else if (room.camera === "off") lines.push(["media", t("roomCameraOff")]);
  if (room.ceiling < 100) lines.push(["ceiling", t("roomCeiling", { n: room.ceiling })]);
  const box = $("room-rules"), said = lines.map(([, text]) => text).join("\n");
  if (box.dataset.said !== said) {  // changed only when what it says changes (said once)
    box.dataset.said = said;
    box.replaceChildren(...lines.map(([kind, text]) => {
      const line = document.createElement("p");
      line.className = kind;
      line.textContent = text;
      return line;
    }));
  }
  const locked = isLocked();
  for (const el of document.querySelectorAll(".conduct button, .conduct input, #pieces button")) {
    el.disabled = controlsOff();
    if (locked) el.setAttribute("aria-describedby", "room-rules"); else el.removeAttribute("aria-describedby");
  }
  const talk = $("talk"), blocked = talkBlocked();
  if (blocked && talk.classList.contains("active")) releaseTalk();
  if (!talk.classList.contains("active")) talk.textContent = talkLabel();
  talk.classList.toggle("locked", !state.paired || !!blocked);
  if (!state.paired || blocked) talk.setAttribute("aria-disabled", "true"); else talk.removeAttribute("aria-disabled");
  if (blocked) talk.setAttribute("aria-describedby", "room-rules"); else talk.removeAttribute("aria-describedby");
  talk.dataset.blocked = state.paired ? blocked : "";  // its sign (style.css)
  applyMedia();
}

function talkLabel() {
  if (!state.paired) return t("pairToConduct");
  const blocked = talkBlocked();
  if (blocked) return t(blocked);
  return room.microphone === "off" ? t("talkCameraOnly") : t("talk");
}

// The microphone sends sound only while the button is held and the room allows it; the camera
// sends pictures only then, and with the camera off the preview stops too.
function applyMedia() {
  const held = $("talk").classList.contains("active");
  if (state.stream) {
    for (const track of state.stream.getAudioTracks()) track.enabled = held && room.microphone !== "off";
    for (const track of state.stream.getVideoTracks()) track.enabled = room.camera !== "off";
  }
  for (const track of state.sentVideo) track.enabled = held && room.camera !== "off";
  $("camera-off").hidden = !state.stream || room.camera !== "off";
}

// Sent away by the facilitator, or the session ended: the box has revoked this phone's pairing
// and closes the connection; the page says so and offers to pair again (or to listen).
function farewell(kind) {
  releaseTalk();
  room.gone = kind;
  room.lockedAll = false; room.lockedMe = false; room.waiting = false;
  state.token = "";
  localStorage.removeItem("token");
  const pc = state.pc;
  state.pc = null; state.channel = null; state.analyser = null;
  if (pc) pc.close();
  setPaired(false);
  showFarewell();
  show("gone");
  $("gone-title").focus();  // a screen reader says it at once
}
function showFarewell() {
  const ended = room.gone !== "removed";
  $("gone-title").textContent = t(ended ? "endedTitle" : "removedTitle");
  $("gone-text").textContent = t(ended ? "endedText" : "removedText");
}

// Big buttons: only the talk button and three large choices, remembered on this phone. The
// choices are directions already understood (as typed "softer" would be), with the word said in
// this phone's language.
const BIG = {
  softer: { key: "bigSofter", directions: ["p +1.00 from_now"] },
  louder: { key: "bigLouder", directions: ["f +1.00 from_now"] },
  calmer: { key: "bigCalmer", directions: ["adagio +0.50 from_now", "p +0.50 from_now", "legato +0.50 from_now"] },
};
function setBig(on) {
  document.body.classList.toggle("big", on);
  $("big-mode").setAttribute("aria-pressed", on ? "true" : "false");
  localStorage.setItem("big", on ? "1" : "0");
}
function sendBig(name) {
  const choice = BIG[name];
  if (!choice || controlsOff()) return;
  const text = t(choice.key).toLocaleLowerCase(state.lang);
  send({ type: "direct", text, language: state.lang, directions: choice.directions });
}

// Listen-only phones see the controls, disabled, and one button to pair.
function setPaired(paired) {
  state.paired = paired;
  document.body.dataset.paired = paired ? "yes" : "no";
  $("pair-now").hidden = paired || $("main").hidden;
  showRoom();  // the controls, the talk button and the room's rules
}

async function connect() {
  const pc = new RTCPeerConnection({ iceServers: [] });
  state.pc = pc;
  for (const old of state.sentVideo) old.stop();  // a reconnection sends fresh copies
  state.sentVideo = [];
  room.gone = "";
  if (state.stream) {
    for (const track of state.stream.getAudioTracks()) pc.addTrack(track, state.stream);
    // the camera goes to the box only while the button is held (a copy of the track, so that
    // the preview stays live): the box reads faces then, and decodes next to nothing otherwise
    for (const track of state.stream.getVideoTracks()) {
      const sent = track.clone();
      sent.enabled = false;
      state.sentVideo.push(sent);
      pc.addTrack(sent, state.stream);
    }
  } else {
    pc.addTransceiver("audio", { direction: "recvonly" });
  }
  state.channel = pc.createDataChannel("events");
  waiting.length = 0;  // (meant for a connection that did not open)
  state.channel.onopen = () => { for (const event of waiting.splice(0)) send(event); };
  state.channel.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (e) { /* ignore */ } };
  pc.ontrack = (e) => {
    if (e.track.kind !== "audio") return;
    const stream = e.streams[0] || new MediaStream([e.track]);
    $("music").srcObject = stream;
    $("music").play().catch(() => {});
    const audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 2048;
    audio.createMediaStreamSource(stream).connect(analyser);
    state.analyser = analyser;
    audio.resume();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
  const answer = await api("/api/offer", {
    sdp: pc.localDescription.sdp, type: "offer", token: state.token,
  });
  await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
  setPaired(answer.paired);
}

// The music's loudness as the page hears it (tests read this).
function level() {
  if (!state.analyser) return 0;
  const data = new Float32Array(state.analyser.fftSize);
  state.analyser.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  return Math.sqrt(sum / data.length);
}
window.appliance = { level, state, send };

async function startMedia(withDevices) {
  if (withDevices) {
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
      });
      state.streamStartedAt = Date.now();  // (the browser tests time their fake microphone by it)
      $("camera").srcObject = state.stream;
      applyMedia();  // the microphone only while held (and the camera as the room allows)
    } catch (err) {
      $("perm-error").textContent = t("denied");
      $("perm-error").hidden = false;
      state.stream = null;
    }
  }
  const link = new URLSearchParams(location.search).get("link");
  if (!state.token && link) {
    try {
      const paired = await api("/api/pair", { link, name: deviceName() });
      state.token = paired.token;
      localStorage.setItem("token", state.token);
    } catch (err) { /* fall back to the PIN */ }
    history.replaceState(null, "", "/");
  }
  if (!state.token) { show("pairing"); return; }
  await enterMain();
}

function deviceName() {
  const ua = navigator.userAgent;
  const kind = /iPhone|iPad/.test(ua) ? "iPhone" : /Android/.test(ua) ? "Android phone" : "phone";
  return `${kind} ${Math.floor(Math.random() * 90 + 10)}`;
}

async function enterMain() {
  show("main");
  $("camera-note").hidden = !!state.stream;
  await connect();
  loadPieces();
}

async function loadPieces() {
  const response = await fetch("/api/pieces");
  const { pieces } = await response.json();
  const render = () => {
    const q = $("search").value.toLowerCase();
    $("pieces").replaceChildren(...pieces
      .filter((p) => !q || `${p.composer} ${p.title} ${p.catalogue} ${p.aliases.join(" ")}`.toLowerCase().includes(q))
      .map((p) => {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.textContent = `${p.composer}: ${p.title}`;
        b.disabled = controlsOff();
        if (isLocked()) b.setAttribute("aria-describedby", "room-rules");
        b.onclick = () => send({ type: "select_piece", query: p.id });
        li.append(b);
        return li;
      }));
  };
  $("search").oninput = render;
  render();
}

function pressTalk(e) {
  const button = $("talk");
  e.preventDefault();
  if (!state.paired) { show("pairing"); return; }
  if (talkBlocked()) { say(t(isLocked() ? lockReason() : "roomMediaOff")); return; }  // why not
  const cameraOnly = room.microphone === "off";
  button.classList.add("active");
  button.setAttribute("aria-pressed", "true");
  button.textContent = cameraOnly ? t("lookingNow") : t("speaking");
  applyMedia();
  $("heard").textContent = "";
  say(cameraOnly ? t("lookingNow") : t("listeningNow"));
  send({ type: "talk", pressed: true, language: state.lang });
}
function releaseTalk(e) {
  const button = $("talk");
  if (!button.classList.contains("active")) return;
  if (e) e.preventDefault();
  button.classList.remove("active");
  button.setAttribute("aria-pressed", "false");
  button.textContent = talkLabel();
  send({ type: "talk", pressed: false });
  applyMedia();
  if ($("said").textContent === t("lookingNow")) say("");  // (nothing is heard to answer)
}

function holdToTalk() {
  const button = $("talk");
  const press = pressTalk, release = releaseTalk;
  button.addEventListener("pointerdown", press);
  for (const name of ["pointerup", "pointercancel", "pointerleave"]) button.addEventListener(name, release);
  // the keyboard holds it too: Space or Enter, held
  const holdKey = (e) => e.key === " " || e.key === "Enter";
  button.addEventListener("keydown", (e) => { if (holdKey(e)) { e.preventDefault(); if (!e.repeat) press(e); } });
  button.addEventListener("keyup", (e) => { if (holdKey(e)) release(e); });
  button.addEventListener("blur", release);
}

async function pairWithPin() {
  try {
    const paired = await api("/api/pair", { pin: $("pin").value, name: deviceName() });
    state.token = paired.token;
    localStorage.setItem("token", state.token);
    $("pair-error").hidden = true;
    if (state.channel && state.channel.readyState === "open") {
      send({ type: "authenticate", token: state.token });  // this connection may now conduct
      show("main");
    } else {
      await enterMain();
    }
  } catch (err) {
    $("pair-error").textContent = t("wrongPin");
    $("pair-error").hidden = false;
  }
}

// A paired phone shows the PIN and the pairing QR code to someone it invites (until they expire).
async function invite() {
  try {
    const invitation = await api("/api/invite", { token: state.token });
    $("invite-qr").innerHTML = invitation.qr;  // an SVG made by the box itself
    $("invite-pin").textContent = invitation.pin;
    $("invitation").hidden = false;
    clearTimeout(state.inviteTimer);
    state.inviteTimer = setTimeout(() => { $("invitation").hidden = true; }, invitation.expires_in * 1000);
  } catch (err) {
    const refusal = refused(err.message);  // hands off: no inviting either, in this phone's words
    say(refusal ? t(refusal) : t("problem", { message: err.message }));
  }
}

function wire() {
  $("language").value = state.lang;
  $("language").onchange = () => { state.lang = $("language").value; localStorage.setItem("lang", state.lang); translate(); };
  $("start").onclick = () => show("permission");
  $("allow").onclick = () => startMedia(true);
  $("listen-only").onclick = () => startMedia(false);
  $("pair").onclick = pairWithPin;
  $("skip-pair").onclick = () => (state.pc ? show("main") : enterMain());
  $("pair-now").onclick = () => show("pairing");
  $("pair-again").onclick = () => { show("pairing"); $("pin").focus(); };
  $("gone-listen").onclick = () => enterMain();
  $("playpause").onclick = () => send({ type: state.playing ? "pause" : "play" });
  $("restart").onclick = () => send({ type: "seek", target: "beginning", bar: 0 });
  $("next").onclick = () => send({ type: "select_piece", query: "" });
  $("invite").onclick = invite;
  $("big-mode").onclick = () => setBig(!document.body.classList.contains("big"));
  setBig(localStorage.getItem("big") === "1");
  for (const b of document.querySelectorAll("[data-big]")) b.onclick = () => sendBig(b.dataset.big);
  for (const b of document.querySelectorAll("[data-feedback]")) {
    b.onclick = () => send({ type: "feedback", kind: b.dataset.feedback });
  }
  $("command-form").onsubmit = (e) => {
    e.preventDefault();
    const text = $("command").value.trim();
    if (text) send({ type: "command", text, language: state.lang });
    $("command").value = "";
  };
  holdToTalk();
  window.addEventListener("resize", drawCurves);  // turned, or the text size changed
  translate();
  fetch("/static/plain.json").then((r) => r.json()).then((table) => { state.plain = table; }).catch(() => {});
}

wire();
