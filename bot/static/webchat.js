// Wegwijs web chat: one websocket, messages rendered as text (never as HTML).
"use strict";
(function () {
  const RTL = new Set(["ar", "fa"]);
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const statusEl = document.getElementById("status");
  const STATUS = {
    nl: ["Verbonden", "Verbinding verbroken, opnieuw verbinden…"],
    en: ["Connected", "Disconnected, reconnecting…"],
  };
  let ws = null;
  let retry = 0;
  const pending = new Map(); // client id -> {el, frame}
  const shown = new Set();   // server message ids already on screen

  function setLanguage(lang, dir) {
    document.documentElement.lang = lang;
    document.documentElement.dir = dir || (RTL.has(lang) ? "rtl" : "ltr");
  }
  function status(i) {
    const lang = document.documentElement.lang;
    statusEl.textContent = (STATUS[lang] || STATUS.nl)[i];
  }
  function clientId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
  }
  function scroll() { log.lastElementChild && log.lastElementChild.scrollIntoView({ block: "end" }); }

  function render(m) {
    if (m.id && shown.has(m.id)) return;
    if (m.id) shown.add(m.id);
    const li = document.createElement("li");
    li.className = "msg " + (m.direction === "in" ? "in" : "out");
    // Bot texts know their language; "auto" would follow a leading Latin term (PIP, DUO) and lay out
    // an Arabic paragraph left-to-right. What people type keeps "auto".
    li.dir = m.direction === "out" && m.dir ? m.dir : "auto";
    if (m.language) li.lang = m.language;
    const p = document.createElement("div");
    p.textContent = m.text;
    li.appendChild(p);
    if (m.direction === "out" && m.buttons && m.buttons.length) {
      const box = document.createElement("div");
      box.className = "buttons";
      m.buttons.forEach(function (b) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.label;
        btn.addEventListener("click", function () { sendButton(b); });
        box.appendChild(btn);
      });
      li.appendChild(box);
    }
    log.appendChild(li);
    scroll();
    return li;
  }

  function send(frame, echoText) {
    frame.id = clientId();
    const el = render({ direction: "in", text: echoText });
    el.classList.add("pending");
    pending.set(frame.id, { el: el, frame: frame });
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }
  function sendButton(b) { send({ type: "button", payload: b.payload, label: b.label }, b.label); }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/ws");
    ws.addEventListener("open", function () {
      retry = 0;
      ws.send(JSON.stringify({ type: "hello", session: localStorage.getItem("wegwijs-session"),
                               language: navigator.language }));
    });
    ws.addEventListener("message", function (ev) {
      const d = JSON.parse(ev.data);
      if (d.type === "session") {
        localStorage.setItem("wegwijs-session", d.session);
        setLanguage(d.language, d.dir);
        status(0);
      } else if (d.type === "transcript") {
        log.textContent = "";
        shown.clear();
        d.messages.forEach(render);
        pending.forEach(function (p) { log.appendChild(p.el); ws.send(JSON.stringify(p.frame)); });
      } else if (d.type === "ack") {
        const p = pending.get(d.id);
        if (p) { p.el.classList.remove("pending"); shown.add(d.message_id); pending.delete(d.id); }
      } else if (d.type === "message") {
        if (d.language) setLanguage(d.language, d.dir);
        render(d);
      } else if (d.type === "error" && d.text) {
        const li = render({ direction: "out", text: d.text });
        li.classList.add("error");
      }
    });
    ws.addEventListener("close", function () {
      status(1);
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    send({ type: "message", text: text }, text);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  connect();
})();
