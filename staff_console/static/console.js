// Staff console page: sign in, chat with the assistant's staff side, sign out (docs/staff-console.md).
// Every text from the server is inserted with textContent; the staff token never reaches this page.
"use strict";

const TEXT = {
  en: {
    title: "Daogou staff",
    tabChat: "Assistant",
    tabInbox: "Handoffs",
    inboxEmpty: "No conversations are waiting for a person.",
    inboxReadOnly: "Replying is off here: the Rasa HTTP API token (RASA_API_TOKEN) is not set.",
    claim: "Claim",
    handBack: "Hand back to the assistant",
    waiting: (m) => `waiting ${m} min`,
    claimedBy: (u) => `claimed by ${u}`,
    byYou: "yours",
    cart: "Cart",
    shopper: "Shopper",
    signInTitle: "Sign in",
    username: "Username",
    password: "Password",
    signIn: "Sign in",
    signOut: "Sign out",
    send: "Send",
    placeholder: "Ask about stock, low stock, pick-up orders…",
    pending: "…",
    allStores: "All stores",
    roles: { associate: "Associate", manager: "Manager", admin: "Admin" },
    suggestions: [
      "What is running low at my store?",
      "Which items need reordering, and how many of each?",
      "Pick-up orders at my store",
      "Transfer suggestions for my store",
    ],
    errors: {
      bad_credentials: "Wrong username or password.",
      credentials_required: "Enter your username and password.",
      too_many_attempts: "Too many failed sign-ins for this username. Try again in a few minutes.",
      service_unavailable: "The order service cannot be reached. Try again in a moment.",
      assistant_unavailable: "The assistant cannot be reached. Try again in a moment.",
      session_expired: "Your session has expired. Please sign in again.",
      signed_out: "",
      bye: "You have signed out.",
      cross_origin: "Request refused (not from this page).",
      csrf: "Request refused: reload the page.",
      message_required: "Type a question first.",
      network: "No connection to the server.",
      claimed: "Another colleague has already claimed this conversation.",
      not_yours: "Claim the conversation first.",
      no_handoff: "This conversation is no longer waiting for a person.",
      rasa_api_off: "Replying is off: RASA_API_TOKEN is not set.",
    },
  },
  zh: {
    title: "导购 · 店员工作台",
    tabChat: "助手",
    tabInbox: "转人工",
    inboxEmpty: "目前没有等待人工的会话。",
    inboxReadOnly: "此处无法回复：未设置 Rasa HTTP API 令牌（RASA_API_TOKEN）。",
    claim: "接手",
    handBack: "交回给助手",
    waiting: (m) => `已等待 ${m} 分钟`,
    claimedBy: (u) => `由 ${u} 接手`,
    byYou: "由您接手",
    cart: "购物车",
    shopper: "顾客",
    signInTitle: "登录",
    username: "用户名",
    password: "密码",
    signIn: "登录",
    signOut: "退出登录",
    send: "发送",
    placeholder: "查询库存、低库存、自提订单……",
    pending: "……",
    allStores: "全部门店",
    roles: { associate: "店员", manager: "经理", admin: "管理员" },
    suggestions: ["本店哪些商品库存偏低？", "本店要补多少货？", "本店的自提订单", "本店的调货建议"],
    errors: {
      bad_credentials: "用户名或密码错误。",
      credentials_required: "请输入用户名和密码。",
      too_many_attempts: "该用户名登录失败次数过多，请几分钟后再试。",
      service_unavailable: "暂时无法连接订单服务，请稍后再试。",
      assistant_unavailable: "暂时无法连接助手，请稍后再试。",
      session_expired: "登录已过期，请重新登录。",
      signed_out: "",
      bye: "您已退出登录。",
      cross_origin: "请求被拒绝（不是来自本页面）。",
      csrf: "请求被拒绝：请刷新页面。",
      message_required: "请先输入问题。",
      network: "无法连接服务器。",
      claimed: "其他同事已接手这个会话。",
      not_yours: "请先接手这个会话。",
      no_handoff: "这个会话已不再等待人工。",
      rasa_api_off: "无法回复：未设置 RASA_API_TOKEN。",
    },
  },
};

const $ = (id) => document.getElementById(id);
const state = { lang: initialLanguage(), csrf: "", staff: null, busy: false };

function initialLanguage() {
  const saved = localStorage.getItem("daogou-staff-lang");
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function t() {
  return TEXT[state.lang];
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t().title;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t()[el.dataset.t];
  $("message").placeholder = t().placeholder;
  $("lang").textContent = state.lang === "zh" ? "English" : "中文";
  const box = $("suggestions");
  box.replaceChildren(
    ...t().suggestions.map((text) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.addEventListener("click", () => ask(text, text));
      return b;
    }),
  );
  showWho();
  if (state.noticeCode) notice(state.noticeCode);
}

function notice(code) {
  state.noticeCode = code || "";
  const text = code ? (code in t().errors ? t().errors[code] : code) : "";
  $("notice").textContent = text;
  $("notice").hidden = !text;
  $("notice").classList.toggle("error", Boolean(code) && code !== "bye");
}

function showWho() {
  const s = state.staff;
  $("who").hidden = !s;
  $("signout").hidden = !s;
  if (!s) return;
  $("who-store").textContent = s.store_name ? `${s.store_name} (#${s.store_id})` : t().allStores;
  $("who-role").textContent = t().roles[s.role] || s.role;
  $("who-user").textContent = s.username;
}

function signedIn(body) {
  state.staff = body.staff;
  state.csrf = body.csrf;
  $("signin").hidden = true;
  $("tabs").hidden = false;
  show(state.view || "chat");
  showWho();
  if (!state.poll) state.poll = setInterval(pollInbox, 3000);
  pollInbox();
  $("message").focus();
}

function signedOut(code) {
  state.staff = null;
  state.csrf = "";
  $("chat").hidden = true;
  $("tabs").hidden = true;
  $("inbox").hidden = true;
  clearInterval(state.poll);
  state.poll = null;
  state.current = null;
  $("handoff").hidden = true;
  $("log").replaceChildren();
  $("signin").hidden = false;
  $("password").value = "";
  showWho();
  notice(code);
  $("username").focus();
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, status: 0, body: { error: "network" } };
  }
  let data = {};
  try {
    data = await response.json();
  } catch (e) {
    data = { error: response.status >= 500 ? "assistant_unavailable" : "network" };
  }
  return { ok: response.ok, status: response.status, body: data };
}

function addUser(text) {
  const div = document.createElement("div");
  div.className = "msg user";
  div.textContent = text;
  $("log").append(div);
  div.scrollIntoView({ block: "end" });
}

function isNumber(text) {
  return /^[-+]?[$¥€£]?\d[\d,]*(\.\d+)?%?$/.test(text.trim());
}

function renderTable(block) {
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  const table = document.createElement("table");
  if (block.caption) {
    const caption = document.createElement("caption");
    caption.textContent = block.caption;
    table.append(caption);
  }
  const numeric = (block.rows[0] || []).map((_, i) => block.rows.every((r) => isNumber(r[i] || "0")));
  if (block.columns) {
    const tr = document.createElement("tr");
    block.columns.forEach((name, i) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      if (numeric[i]) th.className = "num";
      tr.append(th);
    });
    const thead = document.createElement("thead");
    thead.append(tr);
    table.append(thead);
  }
  const tbody = document.createElement("tbody");
  for (const row of block.rows) {
    const tr = document.createElement("tr");
    row.forEach((cell, i) => {
      const td = document.createElement("td");
      td.textContent = cell;
      if (numeric[i]) td.className = "num";
      tr.append(td);
    });
    tbody.append(tr);
  }
  table.append(tbody);
  wrap.append(table);
  return wrap;
}

function renderBlock(block) {
  if (block.kind === "table") return renderTable(block);
  if (block.kind === "list") {
    const ul = document.createElement("ul");
    for (const item of block.items) {
      const li = document.createElement("li");
      li.textContent = item;
      ul.append(li);
    }
    return ul;
  }
  if (block.kind === "image") {
    const img = document.createElement("img");
    img.src = block.src;
    img.alt = "";
    return img;
  }
  if (block.kind === "buttons") {
    const div = document.createElement("div");
    div.className = "buttons";
    for (const b of block.buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title || b.payload;
      button.addEventListener("click", () => ask(b.payload, b.title || b.payload));
      div.append(button);
    }
    return div;
  }
  const p = document.createElement("div");
  p.className = "text";
  p.textContent = block.text || "";
  return p;
}

async function ask(message, shown) {
  if (state.busy || !message.trim()) return;
  state.busy = true;
  $("ask").querySelector("button").disabled = true;
  addUser(shown || message);
  const bot = document.createElement("div");
  bot.className = "msg bot pending";
  bot.textContent = t().pending;
  $("log").append(bot);
  bot.scrollIntoView({ block: "end" });
  const r = await call("POST", "api/chat", { message, language: state.lang });
  state.busy = false;
  $("ask").querySelector("button").disabled = false;
  if (r.status === 401) return signedOut(r.body.error);
  bot.classList.remove("pending");
  if (!r.ok) {
    bot.classList.add("failed");
    bot.textContent = t().errors[r.body.error] || t().errors.network;
    return;
  }
  bot.replaceChildren(...(r.body.blocks || []).map(renderBlock));
  bot.scrollIntoView({ block: "end" });
  $("message").focus();
}

// --- the handoff inbox -------------------------------------------------------------------------------
function show(view) {
  state.view = view;
  $("chat").hidden = view !== "chat";
  $("inbox").hidden = view !== "inbox";
  $("tab-chat").setAttribute("aria-pressed", String(view === "chat"));
  $("tab-inbox").setAttribute("aria-pressed", String(view === "inbox"));
}

function minutes(seconds) {
  return Math.floor((seconds || 0) / 60);
}

function handoffLabel(h) {
  const who = h.customer_id || t().shopper;
  const status = h.claimed_by ? (h.mine ? t().byYou : t().claimedBy(h.claimed_by)) : t().waiting(minutes(h.waiting_s));
  return `${who} · ${h.channel || ""} · ${status}`;
}

async function pollInbox() {
  if (!state.staff) return;
  const r = await call("GET", "api/handoffs");
  if (!state.staff) return; // signed out meanwhile
  if (r.status === 401) return signedOut(r.body.error);
  if (!r.ok) return;
  const list = r.body.handoffs || [];
  $("inbox-count").textContent = list.filter((h) => !h.claimed_by).length || "";
  $("inbox-empty").hidden = list.length > 0;
  $("inbox-readonly").hidden = r.body.can_act !== false;
  $("handoffs").replaceChildren(
    ...list.map((h) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.id = h.id;
      b.textContent = handoffLabel(h);
      if (h.id === state.current) b.setAttribute("aria-current", "true");
      b.addEventListener("click", () => openHandoff(h.id));
      li.append(b);
      return li;
    }),
  );
  if (state.current) {
    if (list.some((h) => h.id === state.current)) await openHandoff(state.current, true);
    else closeHandoff();
  }
}

function closeHandoff() {
  state.current = null;
  $("handoff").hidden = true;
}

async function openHandoff(id, quiet) {
  const r = await call("GET", `api/handoffs/${encodeURIComponent(id)}`);
  if (r.status === 401) return signedOut(r.body.error);
  if (!r.ok) {
    closeHandoff();
    if (!quiet) notice(r.body.error);
    return;
  }
  const h = r.body;
  state.current = h.id;
  $("handoff").hidden = false;
  $("handoff-title").textContent = h.customer_id || t().shopper;
  $("handoff-state").textContent = handoffLabel(h);
  $("claim").hidden = Boolean(h.claimed_by);
  $("handback").hidden = !h.mine;
  $("handoff-reply").hidden = !h.mine;
  const cart = (h.cart || []).map((i) => `${i.quantity || 1} × ${i.name || i.sku}`).join(", ");
  $("handoff-cart").textContent = cart ? `${t().cart}: ${cart}` : "";
  const log = $("handoff-log");
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  log.replaceChildren(
    ...(h.transcript || []).map((m) => {
      const div = document.createElement("div");
      div.className = `msg ${m.from === "shopper" ? "shopper" : m.from === "staff" ? "staff" : "bot"}`;
      div.textContent = m.text;
      return div;
    }),
  );
  if (stick || !quiet) log.scrollTop = log.scrollHeight;
}

async function handoffAction(action, body) {
  const id = state.current;
  if (!id) return;
  const r = await call("POST", `api/handoffs/${encodeURIComponent(id)}/${action}`, body || {});
  if (r.status === 401) return signedOut(r.body.error);
  if (!r.ok) notice(r.body.error);
  else notice("");
  if (action === "hand-back" && r.ok) closeHandoff();
  await pollInbox();
  if (state.current) await openHandoff(state.current, true);
}

async function start() {
  applyLanguage();
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("daogou-staff-lang", state.lang);
    applyLanguage();
  });
  $("signin").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("signin").querySelector("button");
    button.disabled = true;
    const r = await call("POST", "api/login", { username: $("username").value, password: $("password").value });
    button.disabled = false;
    if (r.ok) {
      notice("");
      signedIn(r.body);
    } else {
      $("password").value = "";
      notice(r.body.error || "network");
      $("password").focus();
    }
  });
  $("ask").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("message").value;
    $("message").value = "";
    ask(text);
  });
  $("tab-chat").addEventListener("click", () => show("chat"));
  $("tab-inbox").addEventListener("click", () => {
    show("inbox");
    pollInbox();
  });
  $("claim").addEventListener("click", () => handoffAction("claim"));
  $("handback").addEventListener("click", () => handoffAction("hand-back"));
  $("handoff-reply").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("handoff-message").value;
    if (!text.trim()) return;
    $("handoff-message").value = "";
    handoffAction("reply", { message: text });
  });
  $("signout").addEventListener("click", async () => {
    const r = await call("POST", "api/logout", {});
    signedOut(r.ok ? "bye" : r.body.error);
  });
  const r = await call("GET", "api/session");
  if (r.ok) signedIn(r.body);
  else signedOut(r.status === 401 ? r.body.error : r.body.error || "network");
}

start();
