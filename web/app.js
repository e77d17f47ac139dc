// The phone app: greeting → camera/microphone → pairing → camera + walkie-talkie button.
// Plain JavaScript, no libraries, nothing from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const TEXT = {
  en: { pairToTalk: "Pair to conduct", listening: "Listening only", hello: "Hello! I am the piano.", start: "Start", talk: "Hold to talk", pause: "Pause",
        play: "Play", restart: "From the start", next: "Next piece", allow: "Allow camera and microphone",
        listenOnly: "Just listen", pair: "Pair", skipPair: "Listen without pairing", send: "Send",
        tooFast: "Too fast", tooSlow: "Too slow", tooLoud: "Too loud", tooSoft: "Too soft",
        speaking: "Listening…", wrongPin: "That PIN did not work. Look at the piano's screen again.",
        denied: "No camera or microphone: you can still listen and use the buttons." },
  de: { pairToTalk: "Koppeln zum Dirigieren", listening: "Nur zuhören", hello: "Hallo! Ich bin das Klavier.", start: "Los", talk: "Zum Sprechen halten", pause: "Pause",
        play: "Spielen", restart: "Von vorne", next: "Nächstes Stück", allow: "Kamera und Mikrofon erlauben",
        listenOnly: "Nur zuhören", pair: "Koppeln", skipPair: "Ohne Koppeln zuhören", send: "Senden",
        tooFast: "Zu schnell", tooSlow: "Zu langsam", tooLoud: "Zu laut", tooSoft: "Zu leise",
        speaking: "Ich höre…", wrongPin: "Die PIN stimmt nicht.", denied: "Ohne Kamera und Mikrofon: Zuhören geht trotzdem." },
  es: { pairToTalk: "Vincula para dirigir", listening: "Solo escuchando", hello: "¡Hola! Soy el piano.", start: "Empezar", talk: "Mantén para hablar", pause: "Pausa",
        play: "Tocar", restart: "Desde el principio", next: "Otra pieza", allow: "Permitir cámara y micrófono",
        listenOnly: "Solo escuchar", pair: "Vincular", skipPair: "Escuchar sin vincular", send: "Enviar",
        tooFast: "Muy rápido", tooSlow: "Muy lento", tooLoud: "Muy fuerte", tooSoft: "Muy suave",
        speaking: "Escuchando…", wrongPin: "El PIN no es correcto.", denied: "Sin cámara ni micrófono: puedes escuchar igual." },
  ru: { pairToTalk: "Подключите, чтобы дирижировать", listening: "Только слушаю", hello: "Привет! Я пианино.", start: "Начать", talk: "Держите, чтобы говорить", pause: "Пауза",
        play: "Играть", restart: "Сначала", next: "Другая пьеса", allow: "Разрешить камеру и микрофон",
        listenOnly: "Только слушать", pair: "Подключить", skipPair: "Слушать без подключения", send: "Отправить",
        tooFast: "Слишком быстро", tooSlow: "Слишком медленно", tooLoud: "Слишком громко", tooSoft: "Слишком тихо",
        speaking: "Слушаю…", wrongPin: "Неверный PIN.", denied: "Без камеры и микрофона можно просто слушать." },
};

const state = {
  lang: localStorage.getItem("lang") || (navigator.language || "en").slice(0, 2),
  token: localStorage.getItem("token") || "",
  stream: null, pc: null, channel: null, paired: false, playing: true,
  curves: [], level: 0, analyser: null, events: [],
};
if (!TEXT[state.lang]) state.lang = "en";

function t(key) { return (TEXT[state.lang] || TEXT.en)[key] || TEXT.en[key] || key; }
function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const value = (TEXT[state.lang] || {})[el.dataset.i18n];
    if (value) el.textContent = value;
  }
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

function send(event) {
  if (state.channel && state.channel.readyState === "open") state.channel.send(JSON.stringify(event));
}

function log(text) {
  const item = document.createElement("li");
  item.textContent = text;
  $("activity").prepend(item);
  while ($("activity").children.length > 30) $("activity").lastChild.remove();
}

function onEvent(event) {
  state.events.push(event);
  switch (event.type) {
    case "now_playing":
      $("now-playing").textContent = `${event.composer}: ${event.title}`;
      state.curves = [];
      break;
    case "position":
      state.curves.push([event.tempo_bpm, event.velocity]);
      if (state.curves.length > 120) state.curves.shift();
      drawCurves();
      break;
    case "transport":
      state.playing = event.state === "playing";
      $("playpause").textContent = state.playing ? t("pause") : t("play");
      log(`■ ${event.state}`);
      break;
    case "action": log(`${event.who}: ${event.what}`); break;
    case "direction_applied": log(`→ ${event.text || ""} ${event.directions.join(", ")}`); break;
    case "problem": case "error": log(`! ${event.message}`); break;
  }
}

function drawCurves() {
  const canvas = $("curves"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const lines = [[0, "#ffb020", 20, 220], [1, "#6ec3ff", 20, 110]];
  for (const [index, colour, lo, hi] of lines) {
    ctx.strokeStyle = colour; ctx.lineWidth = 3; ctx.beginPath();
    state.curves.forEach((row, i) => {
      const x = (i / 119) * canvas.width;
      const y = canvas.height - ((row[index] - lo) / (hi - lo)) * canvas.height;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

async function connect() {
  const pc = new RTCPeerConnection({ iceServers: [] });
  state.pc = pc;
  if (state.stream) {
    for (const track of state.stream.getTracks()) pc.addTrack(track, state.stream);
  } else {
    pc.addTransceiver("audio", { direction: "recvonly" });
  }
  state.channel = pc.createDataChannel("events");
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
  state.paired = answer.paired;
  await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
  document.body.dataset.paired = state.paired ? "yes" : "no";
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
      $("camera").srcObject = state.stream;
      for (const track of state.stream.getAudioTracks()) track.enabled = false;  // only while held
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
  const talk = $("talk");
  if (!state.paired) {
    talk.textContent = t("pairToTalk");
    talk.classList.add("locked");
    talk.setAttribute("aria-disabled", "true");
  }
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
        b.onclick = () => send({ type: "select_piece", query: p.id });
        li.append(b);
        return li;
      }));
  };
  $("search").oninput = render;
  render();
}

function holdToTalk() {
  const button = $("talk");
  const press = (e) => {
    e.preventDefault();
    if (!state.paired) { show("pairing"); return; }
    button.classList.add("active");
    button.textContent = t("speaking");
    if (state.stream) for (const track of state.stream.getAudioTracks()) track.enabled = true;
    send({ type: "talk", pressed: true });
  };
  const release = (e) => {
    if (!button.classList.contains("active")) return;
    e.preventDefault();
    button.classList.remove("active");
    button.textContent = t("talk");
    send({ type: "talk", pressed: false });
    if (state.stream) for (const track of state.stream.getAudioTracks()) track.enabled = false;
  };
  button.addEventListener("pointerdown", press);
  for (const name of ["pointerup", "pointercancel", "pointerleave"]) button.addEventListener(name, release);
  button.addEventListener("keydown", (e) => { if (e.key === " " && !e.repeat) press(e); });
  button.addEventListener("keyup", (e) => { if (e.key === " ") release(e); });
}

function wire() {
  $("language").value = state.lang;
  $("language").onchange = () => { state.lang = $("language").value; localStorage.setItem("lang", state.lang); translate(); };
  $("start").onclick = () => show("permission");
  $("allow").onclick = () => startMedia(true);
  $("listen-only").onclick = () => startMedia(false);
  $("pair").onclick = async () => {
    try {
      const paired = await api("/api/pair", { pin: $("pin").value, name: deviceName() });
      state.token = paired.token;
      localStorage.setItem("token", state.token);
      await enterMain();
    } catch (err) {
      $("pair-error").textContent = t("wrongPin");
      $("pair-error").hidden = false;
    }
  };
  $("skip-pair").onclick = () => enterMain();
  $("playpause").onclick = () => send({ type: state.playing ? "pause" : "play" });
  $("restart").onclick = () => send({ type: "seek", target: "beginning", bar: 0 });
  $("next").onclick = () => send({ type: "select_piece", query: "" });
  for (const b of document.querySelectorAll("[data-feedback]")) {
    b.onclick = () => send({ type: "feedback", kind: b.dataset.feedback });
  }
  $("command-form").onsubmit = (e) => {
    e.preventDefault();
    const text = $("command").value.trim();
    if (text) send({ type: "command", text });
    $("command").value = "";
  };
  holdToTalk();
  translate();
}

wire();
