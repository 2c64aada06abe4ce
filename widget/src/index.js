// Daogou chat widget. Embed with one script tag and a config object:
//
//   <script>window.DaogouWidgetConfig = { socketUrl: "http://127.0.0.1:5005" };</script>
//   <script src="/widget/daogou-widget.js" defer></script>
//
// It speaks Rasa's socket.io protocol (session_request → session_confirm, user_uttered, bot_uttered),
// keeps the session id and the transcript in localStorage so a reload shows the conversation, and
// re-joins its session after every reconnect (socket.io-client retries on its own after a restart).
import { io } from "socket.io-client";
import css from "./styles.css";
import { STRINGS, pickLanguage } from "./i18n.js";
import { botMessage, el, richText } from "./render.js";

const DEFAULTS = {
  socketUrl: null, // default: window.DAOGOU_CONFIG.rasaUrl (the stack's config.js), else this origin
  socketPath: "/socket.io",
  // Long-polling first, then an upgrade to a websocket: the connection works even where a proxy
  // blocks websockets. ["polling"] never upgrades.
  transports: ["polling", "websocket"],
  userMessageEvent: "user_uttered",
  botMessageEvent: "bot_uttered",
  lang: "auto", // "en" | "zh" | "auto" (browser language); the user can switch in the header
  storageKey: "daogou",
  container: null, // CSS selector: render inline in that element instead of as a floating panel
  open: false, // start open
  greeting: null, // message sent once when a new conversation is first opened, e.g. "/greet"
  addToCart: false, // true, or a payload template with {sku}: adds an "add to cart" button to cards
  maxHistory: 200,
  typingTimeoutMs: 20000,
};

class Store {
  constructor(key) { this.key = key; }
  read(name, fallback) {
    try {
      const value = window.localStorage.getItem(`${this.key}:${name}`);
      return value === null ? fallback : JSON.parse(value);
    } catch (_) { return fallback; }
  }
  write(name, value) {
    try { window.localStorage.setItem(`${this.key}:${name}`, JSON.stringify(value)); } catch (_) { /* private mode, full */ }
  }
}

class DaogouWidget {
  constructor(config) {
    this.config = { ...DEFAULTS, ...config };
    this.store = new Store(this.config.storageKey);
    this.lang = pickLanguage(this.config.lang, this.store.read("lang", null));
    this.history = this.store.read("history", []);
    this.sessionId = this.store.read("session", null);
    this.confirmed = false;
    this.outbox = [];
    this.typingTimer = null;
  }

  get t() { return STRINGS[this.lang]; }

  mount() {
    if (!document.getElementById("daogou-widget-style")) {
      document.head.append(el("style", { id: "daogou-widget-style", text: css }));
    }
    const inline = this.config.container && document.querySelector(this.config.container);
    this.root = el("div", { class: `dg-root${inline ? " dg-inline" : ""}`, lang: this.lang });
    this.launcher = el("button", { type: "button", class: "dg-launcher", "aria-expanded": "false",
      onclick: () => this.toggle(true) }, el("span", { class: "dg-launcher-icon", "aria-hidden": "true", text: "💬" }),
    el("span", { class: "dg-launcher-text" }));
    this.titleEl = el("h2", { class: "dg-title", id: "dg-title" });
    this.subtitleEl = el("p", { class: "dg-subtitle" });
    this.langBtn = el("button", { type: "button", class: "dg-lang", onclick: () => this.setLanguage(this.lang === "en" ? "zh" : "en") });
    this.newBtn = el("button", { type: "button", class: "dg-new", text: "↺", onclick: () => this.reset() });
    this.closeBtn = el("button", { type: "button", class: "dg-close", text: "×", onclick: () => this.toggle(false) });
    this.status = el("div", { class: "dg-status", role: "status", hidden: true });
    this.log = el("div", { class: "dg-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
    this.typing = el("div", { class: "dg-typing", hidden: true, "aria-live": "polite" },
      el("span", { class: "dg-dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")), el("span", { class: "dg-typing-text" }));
    this.input = el("textarea", { class: "dg-input", rows: "1", maxlength: "2000", autocomplete: "off" });
    this.sendBtn = el("button", { type: "submit", class: "dg-send" });
    this.form = el("form", { class: "dg-form", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      el("label", { class: "dg-sr", for: "dg-input" }), this.input, this.sendBtn);
    this.input.id = "dg-input";
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
    });
    this.panel = el("section", { class: "dg-panel", role: inline ? "region" : "dialog", "aria-labelledby": "dg-title", hidden: !inline },
      el("header", { class: "dg-header" }, el("div", { class: "dg-heading" }, this.titleEl, this.subtitleEl),
        this.langBtn, this.newBtn, inline ? null : this.closeBtn),
      this.status, this.log, this.typing, this.form);
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !inline) { this.toggle(false); }
    });
    if (!inline) this.root.append(this.launcher);
    this.root.append(this.panel);
    (inline || document.body).append(this.root);
    this.inline = Boolean(inline);
    this.applyLanguage();
    this.renderHistory();
    this.connect();
    if (inline || this.config.open || this.store.read("open", false)) this.toggle(true, false);
    return this;
  }

  applyLanguage() {
    const t = this.t;
    this.root.lang = this.lang === "zh" ? "zh-CN" : "en";
    this.launcher.setAttribute("aria-label", t.open);
    this.launcher.querySelector(".dg-launcher-text").textContent = t.title;
    this.titleEl.textContent = t.title;
    this.subtitleEl.textContent = t.subtitle;
    this.langBtn.textContent = t.switchLanguage;
    this.langBtn.setAttribute("aria-label", t.switchLanguageLabel);
    this.langBtn.setAttribute("lang", this.lang === "en" ? "zh-CN" : "en");
    this.newBtn.setAttribute("aria-label", t.newChat);
    this.newBtn.title = t.newChat;
    this.closeBtn.setAttribute("aria-label", t.close);
    this.input.placeholder = t.placeholder;
    this.form.querySelector("label").textContent = t.inputLabel;
    this.sendBtn.textContent = t.send;
    this.typing.querySelector(".dg-typing-text").textContent = t.typing;
    this.log.setAttribute("aria-label", t.title);
    if (!this.status.hidden) this.showStatus(this.statusKind);
  }

  setLanguage(lang) {
    this.lang = lang;
    this.store.write("lang", lang);
    this.applyLanguage();
    this.renderHistory();
  }

  toggle(open, focus = true) {
    if (this.inline) open = true;
    this.panel.hidden = !open;
    this.launcher.hidden = open;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.root.classList.toggle("dg-open", open);
    this.store.write("open", open);
    if (open) {
      this.scrollDown();
      if (focus) this.input.focus();
      if (!this.history.length && this.config.greeting && !this.greeted) {
        this.greeted = true;
        this.send(this.config.greeting, null);
      }
    } else if (focus) {
      this.launcher.focus();
    }
  }

  // --- transport ------------------------------------------------------------------------------------
  socketUrl() {
    if (this.config.socketUrl) return this.config.socketUrl;
    const stack = window.DAOGOU_CONFIG && window.DAOGOU_CONFIG.rasaUrl;
    return stack || window.location.origin;
  }

  connect() {
    const socket = io(this.socketUrl(), {
      path: this.config.socketPath,
      transports: this.config.transports,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
    });
    this.socket = socket;
    socket.on("connect", () => {
      this.confirmed = false;
      socket.emit("session_request", { session_id: this.sessionId });
    });
    socket.on("session_confirm", (id) => {
      const sessionId = typeof id === "string" ? id : id && id.session_id;
      if (sessionId && sessionId !== this.sessionId) {
        this.sessionId = sessionId;
        this.store.write("session", sessionId);
      }
      this.confirmed = true;
      this.hideStatus();
      const pending = this.outbox.splice(0);
      pending.forEach((message) => this.emit(message));
    });
    socket.on("disconnect", () => { this.confirmed = false; this.showStatus("reconnecting"); });
    socket.on("connect_error", () => this.showStatus("reconnecting"));
    socket.on(this.config.botMessageEvent, (data) => this.receive(data));
  }

  emit(message) {
    this.socket.emit(this.config.userMessageEvent, {
      message, session_id: this.sessionId, metadata: { language: this.lang },
    });
  }

  /** Sends a message (typed text or a button payload); ``shown`` is what the transcript shows. */
  send(message, shown) {
    if (shown !== null) this.append({ from: "user", text: shown === undefined ? message : shown });
    this.showTyping(true);
    if (this.confirmed && this.socket.connected) this.emit(message);
    else { this.outbox.push(message); if (!this.socket.connected) this.showStatus("offline"); }
  }

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.send(text);
  }

  receive(data) {
    if (!data || typeof data !== "object") return;
    this.showTyping(false);
    this.append({ from: "bot", data });
  }

  // --- transcript -------------------------------------------------------------------------------------
  context(live) {
    return { t: this.t, config: this.config, send: (payload, title) => this.send(payload, title), live };
  }

  renderEntry(entry, live) {
    const ctx = this.context(live);
    const who = entry.from === "user" ? "user" : "bot";
    const bubble = el("div", { class: `dg-msg dg-${who}` },
      el("span", { class: "dg-sr", text: `${who === "user" ? this.t.you : this.t.bot}: ` }));
    if (who === "user") bubble.append(el("div", { class: "dg-text" }, richText(entry.text)));
    else botMessage(entry.data, ctx, live).forEach((part) => bubble.append(part));
    return bubble;
  }

  append(entry) {
    // quick replies of earlier messages are no longer live once something new arrives
    this.log.querySelectorAll(".dg-quick-btn").forEach((b) => { b.disabled = true; });
    this.history.push(entry);
    if (this.history.length > this.config.maxHistory) this.history.splice(0, this.history.length - this.config.maxHistory);
    this.store.write("history", this.history);
    this.log.append(this.renderEntry(entry, true));
    this.scrollDown();
  }

  renderHistory() {
    this.log.replaceChildren(...this.history.map((entry, i) => this.renderEntry(entry, i === this.history.length - 1)));
    this.scrollDown();
  }

  reset() {
    this.history = [];
    this.store.write("history", []);
    this.sessionId = null;
    this.store.write("session", null);
    this.greeted = false;
    this.renderHistory();
    if (this.socket) { this.socket.disconnect(); this.socket.connect(); }
    this.input.focus();
  }

  scrollDown() { this.log.scrollTop = this.log.scrollHeight; }

  showTyping(on) {
    clearTimeout(this.typingTimer);
    this.typing.hidden = !on;
    if (on) this.typingTimer = setTimeout(() => { this.typing.hidden = true; }, this.config.typingTimeoutMs);
    this.scrollDown();
  }

  showStatus(kind) {
    this.statusKind = kind;
    this.status.textContent = this.t[kind];
    this.status.hidden = false;
  }

  hideStatus() { this.status.hidden = true; this.statusKind = null; }
}

function init(config = {}) {
  const widget = new DaogouWidget(config);
  const start = () => { window.DaogouWidget.instance = widget.mount(); };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  return widget;
}

window.DaogouWidget = { init, instance: null };
if (window.DaogouWidgetConfig !== false) init(window.DaogouWidgetConfig || {});
