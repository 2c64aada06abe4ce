// Turning bot messages into DOM. Everything the bot or the user wrote goes in through textContent or a
// checked attribute, never innerHTML, so hostile text shows as text.

const URL_OR_MD_LINK = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]])/g;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** An http(s) URL, or a same-site path; anything else (javascript:, data:) is refused. */
export function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (_) {
    return null;
  }
}

/** Text with its links (bare URLs and [label](url)) made clickable; line breaks kept by CSS. */
export function richText(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  const source = String(text ?? "");
  for (const match of source.matchAll(URL_OR_MD_LINK)) {
    frag.append(source.slice(last, match.index));
    const href = safeUrl(match[2] || match[3]);
    const label = match[1] || match[3];
    frag.append(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: label }) : label);
    last = match.index + match[0].length;
  }
  frag.append(source.slice(last));
  return frag;
}

function priceText(card) {
  if (card.price_text) return String(card.price_text);
  if (typeof card.price !== "number") return "";
  const currency = card.currency || "USD";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(card.price);
  } catch (_) {
    return `${card.price} ${currency}`;
  }
}

function specLines(specs) {
  if (Array.isArray(specs)) {
    return specs.map((s) => (s && typeof s === "object" ? `${s.name ?? s.label ?? ""}: ${s.value ?? ""}` : String(s)));
  }
  if (specs && typeof specs === "object") return Object.entries(specs).map(([k, v]) => `${k}: ${v}`);
  return specs ? [String(specs)] : [];
}

/** The buttons of a card: its own, plus "add to cart" when the page asks for it and the card has none. */
function cardButtons(card, ctx) {
  const buttons = Array.isArray(card.buttons) ? card.buttons.slice() : [];
  if (ctx.config.addToCart && card.sku && !buttons.some((b) => /cart/i.test(b.payload || ""))) {
    const payload = ctx.config.addToCart === true
      ? `/add_to_cart${JSON.stringify({ sku: card.sku })}`
      : String(ctx.config.addToCart).replace("{sku}", card.sku);
    buttons.push({ title: ctx.t.addToCart, payload, kind: "cart" });
  }
  return buttons;
}

export function productCard(card, ctx, position) {
  const name = String(card.name || card.title || "");
  const href = safeUrl(card.url);
  const image = safeUrl(card.image || card.image_url);
  const heading = el("h3", { class: "dg-card-name" },
    href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: name }) : document.createTextNode(name));
  const meta = [card.brand, card.kind].filter(Boolean).join(" · ");
  const specs = specLines(card.specs || card.key_specs).slice(0, 4);
  const article = el("article", {
    class: "dg-card", "aria-label": position ? `${name} — ${position}` : name, "data-sku": card.sku || null,
  },
  image ? el("img", { class: "dg-card-img", src: image, alt: name, loading: "lazy",
    onerror: (e) => e.target.remove() }) : null,
  el("div", { class: "dg-card-body" },
    heading,
    meta ? el("p", { class: "dg-card-meta", text: meta }) : null,
    el("p", { class: "dg-card-price", text: priceText(card) }),
    specs.length ? el("ul", { class: "dg-card-specs" }, ...specs.map((s) => el("li", { text: s }))) : null));
  const actions = el("div", { class: "dg-card-actions" });
  for (const b of cardButtons(card, ctx)) {
    actions.append(el("button", {
      type: "button", class: b.kind === "cart" ? "dg-btn dg-btn-primary" : "dg-btn",
      text: b.title, onclick: () => ctx.send(b.payload, b.title),
    }));
  }
  article.append(actions);
  return article;
}

/** Several cards: a horizontally scrolling carousel with previous/next buttons and arrow keys. */
export function carousel(cards, ctx) {
  const track = el("div", { class: "dg-carousel-track", tabindex: "0", role: "group", "aria-label": ctx.t.products });
  cards.forEach((card, i) => track.append(productCard(card, ctx, ctx.t.productOf(i + 1, cards.length))));
  const step = (dir) => {
    const item = track.firstElementChild;
    const width = item ? item.getBoundingClientRect().width + 12 : track.clientWidth;
    track.scrollBy({ left: dir * width, behavior: "smooth" });
  };
  track.addEventListener("keydown", (e) => {
    if (e.target !== track) return;
    if (e.key === "ArrowRight") { step(1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { step(-1); e.preventDefault(); }
  });
  return el("div", { class: "dg-carousel", "aria-roledescription": "carousel", "aria-label": ctx.t.products },
    el("button", { type: "button", class: "dg-carousel-prev", "aria-label": ctx.t.previous, text: "‹", onclick: () => step(-1) }),
    track,
    el("button", { type: "button", class: "dg-carousel-next", "aria-label": ctx.t.next, text: "›", onclick: () => step(1) }));
}

function cardsOf(custom) {
  if (Array.isArray(custom)) return custom;
  if (!custom || typeof custom !== "object") return [];
  for (const key of ["products", "cards", "items", "elements"]) if (Array.isArray(custom[key])) return custom[key];
  return [];
}

function cardList(cards, ctx) {
  const valid = cards.filter((c) => c && typeof c === "object" && (c.name || c.title));
  if (!valid.length) return null;
  return valid.length === 1 ? productCard(valid[0], ctx) : carousel(valid, ctx);
}

/** Quick replies; a group is used once (disabled after a click) and only the newest is live. */
export function quickReplies(replies, ctx, live) {
  const group = el("div", { class: "dg-quick", role: "group" });
  for (const r of replies) {
    group.append(el("button", {
      type: "button", class: "dg-btn dg-quick-btn", text: r.title, disabled: !live,
      onclick: () => { group.querySelectorAll("button").forEach((b) => { b.disabled = true; }); ctx.send(r.payload, r.title); },
    }));
  }
  return group;
}

/** One bot message as Rasa's socket.io channel sends it. */
export function botMessage(data, ctx, live) {
  const parts = [];
  if (data.text) parts.push(el("div", { class: "dg-text" }, richText(data.text)));
  const replies = data.quick_replies || data.buttons;
  if (Array.isArray(replies) && replies.length) parts.push(quickReplies(replies, ctx, live));
  const attachment = data.attachment;
  if (attachment && typeof attachment === "object") {
    const payload = attachment.payload || {};
    if (attachment.type === "image" && safeUrl(payload.src)) {
      parts.push(el("img", { class: "dg-image", src: safeUrl(payload.src), alt: ctx.t.image }));
    } else if (attachment.type === "template" && payload.elements) {
      const elements = [].concat(payload.elements).map((e) => ({
        name: e.title, specs: e.subtitle ? [e.subtitle] : [], image: e.image_url,
        buttons: (e.buttons || []).filter((b) => b.payload).map((b) => ({ title: b.title, payload: b.payload })),
        url: (e.default_action || {}).url,
      }));
      const list = cardList(elements, ctx);
      if (list) parts.push(list);
    } else if (safeUrl(payload.url || payload.src)) {
      const href = safeUrl(payload.url || payload.src);
      parts.push(el("a", { href, target: "_blank", rel: "noopener noreferrer", text: payload.title || href }));
    }
  }
  if (data.image && safeUrl(data.image)) parts.push(el("img", { class: "dg-image", src: safeUrl(data.image), alt: ctx.t.image }));
  if (data.custom !== undefined) {
    const custom = data.custom;
    if (custom && typeof custom.text === "string") parts.push(el("div", { class: "dg-text" }, richText(custom.text)));
    const list = cardList(cardsOf(custom), ctx);
    if (list) parts.push(list);
  }
  return parts;
}
