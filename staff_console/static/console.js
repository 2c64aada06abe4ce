// Staff console page: sign in, chat with the assistant's staff side, sign out (docs/staff-console.md).
// Every text from the server is inserted with textContent; the staff token never reaches this page.
"use strict";

const TEXT = {
  en: {
    title: "Daogou staff",
    tabChat: "Assistant",
    tabInbox: "Handoffs",
    inboxEmpty: "No conversations are waiting for a person.",
    tabStore: "Store",
    pickupsTitle: "Pick-up orders to prepare",
    pickupsEmpty: "No pick-up orders to prepare.",
    markReady: "Mark ready",
    readyDone: (id, told) => `Order #${id} is ready for pick-up.` + (told ? " The shopper has been told." : ""),
    transfersTitle: "Suggested transfers",
    transfersEmpty: "No transfers suggested.",
    confirmTransfer: "Confirm transfer",
    transferDone: (ref) => `Transfer ${ref} recorded.`,
    transferLine: (s) => `${s.quantity} × ${s.name} (${s.sku}) ← ${s.from_name} (#${s.from_location_id}, ${s.distance_km} km)`,
    orderLine: (o) => `#${o.id} · ${o.customer_id} · store #${o.location_id} · ` + o.lines.map((l) => `${l.quantity} × ${l.name}`).join(", "),
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
      forbidden: "Your role may not do this for that store.",
      conflict: "This changed meanwhile: the list has been read again.",
      not_found: "Not found: the list has been read again.",
      invalid: "The request was not accepted.",
    },
  },
  zh: {
    title: "导购 · 店员工作台",
    tabChat: "助手",
    tabInbox: "转人工",
    inboxEmpty: "目前没有等待人工的会话。",
    tabStore: "门店",
    pickupsTitle: "待备货的自提订单",
    pickupsEmpty: "没有待备货的自提订单。",
    markReady: "标记为可取货",
    readyDone: (id, told) => `订单 #${id} 已可取货。` + (told ? "已通知顾客。" : ""),
    transfersTitle: "调货建议",
    transfersEmpty: "暂无调货建议。",
    confirmTransfer: "确认调货",
    transferDone: (ref) => `调货 ${ref} 已记录。`,
    transferLine: (s) => `${s.quantity} × ${s.name}（${s.sku}）← ${s.from_name}（#${s.from_location_id}，${s.distance_km} 公里）`,
    orderLine: (o) => `#${o.id} · ${o.customer_id} · 门店 #${o.location_id} · ` + o.lines.map((l) => `${l.quantity} × ${l.name}`).join("，"),
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
      forbidden: "您的角色无权对该门店执行此操作。",
      conflict: "内容已变化，列表已刷新。",
      not_found: "未找到，列表已刷新。",
      invalid: "请求未被接受。",
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
  listen();
  refreshInbox();
  $("message").focus();
}

function signedOut(code) {
  state.staff = null;
  state.csrf = "";
  $("chat").hidden = true;
  $("tabs").hidden = true;
  $("inbox").hidden = true;
  $("store").hidden = true;
  if (state.events) state.events.close();
  state.events = null;
  clearInterval(state.clock);
  state.clock = null;
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
  for (const name of ["chat", "inbox", "store"]) {
    $(name).hidden = view !== name;
    $(`tab-${name}`).setAttribute("aria-pressed", String(view === name));
  }
  if (view === "store") loadStore();
}

// New hand-overs and shoppers' messages arrive by server push (server-sent events, GET api/events); the
// stream ends with the session, and the browser's reconnection then meets a 401.
function listen() {
  if (state.events) return;
  const events = new EventSource("api/events");
  state.events = events;
  events.addEventListener("inbox", () => refreshInbox());
  events.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.id === state.current) openHandoff(m.id, true);
  });
  events.addEventListener("error", () => {
    if (events.readyState === EventSource.CLOSED || events.readyState === EventSource.CONNECTING) {
      refreshInbox(); // a 401 there signs the page out
    }
    if (events.readyState === EventSource.CLOSED && state.events === events) {
      state.events = null;
      if (state.staff) setTimeout(listen, 2000);
    }
  });
  // the waiting times grow on screen without asking the server
  if (!state.clock) state.clock = setInterval(drawInbox, 30000);
}

function minutes(seconds) {
  return Math.floor((seconds || 0) / 60);
}

function handoffLabel(h) {
  const who = h.customer_id || t().shopper;
  const status = h.claimed_by ? (h.mine ? t().byYou : t().claimedBy(h.claimed_by)) : t().waiting(minutes(h.waiting_s));
  return `${who} · ${h.channel || ""} · ${status}`;
}

async function refreshInbox() {
  if (!state.staff) return;
  const r = await call("GET", "api/handoffs");
  if (!state.staff) return; // signed out meanwhile
  if (r.status === 401) return signedOut(r.body.error);
  if (!r.ok) return;
  const now = Date.now();
  state.inbox = (r.body.handoffs || []).map((h) => ({ ...h, seen: now }));
  drawInbox();
  if (state.current) {
    if (state.inbox.some((h) => h.id === state.current)) await openHandoff(state.current, true);
    else closeHandoff();
  }
}

function drawInbox() {
  const list = (state.inbox || []).map((h) =>
    h.waiting_s == null ? h : { ...h, waiting_s: h.waiting_s + (Date.now() - h.seen) / 1000 },
  );
  $("inbox-count").textContent = list.filter((h) => !h.claimed_by).length || "";
  $("inbox-empty").hidden = list.length > 0;
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
  await refreshInbox();
  if (state.current) await openHandoff(state.current, true);
}

// --- the store: pick-ups to prepare, transfers to confirm ---------------------------------------------
function actionRow(text, label, onClick) {
  const li = document.createElement("li");
  const span = document.createElement("span");
  span.textContent = text;
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", async () => {
    b.disabled = true;
    await onClick();
    b.disabled = false;
  });
  li.append(span, b);
  return li;
}

async function storeCall(method, path, body) {
  const r = await call(method, path, body);
  if (r.status === 401) {
    signedOut(r.body.error);
    return null;
  }
  if (!r.ok) {
    notice(r.body.error);
    if (method === "POST") loadStore();
    return null;
  }
  return r.body;
}

async function loadStore() {
  const [pickups, transfers] = await Promise.all([storeCall("GET", "api/pickups"), storeCall("GET", "api/transfers")]);
  if (pickups) {
    $("pickups-empty").hidden = pickups.orders.length > 0;
    $("pickups").replaceChildren(
      ...pickups.orders.map((o) => {
        const li = actionRow(t().orderLine(o), t().markReady, async () => {
          const done = await storeCall("POST", `api/pickups/${o.id}/ready`, {});
          if (done) {
            notice(t().readyDone(done.id, done.shopper_told));
            loadStore();
          }
        });
        li.dataset.order = o.id;
        return li;
      }),
    );
  }
  if (transfers) {
    $("transfers-empty").hidden = transfers.suggestions.length > 0;
    $("transfers").replaceChildren(
      ...transfers.suggestions.map((s) => {
        const li = actionRow(t().transferLine(s), t().confirmTransfer, async () => {
          const body = { sku: s.sku, from_location_id: s.from_location_id, to_location_id: s.to_location_id, quantity: s.quantity };
          const done = await storeCall("POST", "api/transfers", body);
          if (done) {
            notice(t().transferDone(done.transfer_ref));
            loadStore();
          }
        });
        li.dataset.sku = s.sku;
        return li;
      }),
    );
  }
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
    refreshInbox();
  });
  $("tab-store").addEventListener("click", () => show("store"));
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
