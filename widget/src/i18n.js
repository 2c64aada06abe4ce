// Interface strings of the widget. The bot's own words come from the Rasa domain; these are only the
// widget's labels, in the two languages the shop serves.
export const STRINGS = {
  en: {
    title: "Shopping assistant",
    subtitle: "Ask for products, stock or orders",
    open: "Chat with our shopping assistant",
    close: "Close chat",
    placeholder: "Ask for a product…",
    inputLabel: "Your message",
    send: "Send",
    typing: "Daogou is typing…",
    reconnecting: "Connection lost — reconnecting…",
    offline: "Offline — your message will be sent when the connection is back.",
    switchLanguage: "中文",
    switchLanguageLabel: "切换到中文",
    you: "You",
    bot: "Daogou",
    details: "Details",
    addToCart: "Add to cart",
    viewInShop: "View in shop",
    previous: "Previous product",
    next: "Next product",
    products: "Products",
    productOf: (i, n) => `Product ${i} of ${n}`,
    newChat: "New conversation",
    image: "Image from Daogou",
  },
  zh: {
    title: "导购助手",
    subtitle: "找商品、查库存、问订单",
    open: "打开导购助手",
    close: "关闭对话",
    placeholder: "想买点什么？",
    inputLabel: "您的消息",
    send: "发送",
    typing: "导购正在输入…",
    reconnecting: "连接已断开，正在重新连接…",
    offline: "网络已断开，恢复后会自动发送您的消息。",
    switchLanguage: "English",
    switchLanguageLabel: "Switch to English",
    you: "您",
    bot: "导购",
    details: "详情",
    addToCart: "加入购物车",
    viewInShop: "在商城查看",
    previous: "上一个商品",
    next: "下一个商品",
    products: "商品",
    productOf: (i, n) => `第 ${i} 个，共 ${n} 个`,
    newChat: "新对话",
    image: "导购发送的图片",
  },
};

export function pickLanguage(configured, stored) {
  if (configured === "en" || configured === "zh") return stored || configured;
  if (stored === "en" || stored === "zh") return stored;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return nav.toLowerCase().startsWith("zh") ? "zh" : "en";
}
