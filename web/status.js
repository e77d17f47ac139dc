// The box's status page: keeps the PIN, the pairing QR code and the phones current without a
// reload (the PIN changes after every pairing and every 10 minutes).
"use strict";

async function refresh() {
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    if (!response.ok) return;
    const state = await response.json();
    const url = document.getElementById("url");
    if (url) url.textContent = state.url;
    const pin = document.getElementById("pin");
    if (pin && state.pin && pin.textContent !== state.pin) {
      pin.textContent = state.pin;
      const qr = document.getElementById("qr");
      if (qr && state.qr) qr.innerHTML = state.qr;  // an SVG made by the box itself
    }
    const phones = document.getElementById("phones");
    if (phones) {
      const items = state.phones.map((p) => {
        const li = document.createElement("li");
        li.textContent = p.paired ? p.name : `${p.name} (listening)`;
        return li;
      });
      if (!items.length) {
        const li = document.createElement("li");
        li.textContent = "none yet";
        items.push(li);
      }
      phones.replaceChildren(...items);
    }
  } catch (err) { /* the box restarting: try again */ }
}

setInterval(refresh, 2000);
