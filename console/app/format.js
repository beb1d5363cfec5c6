// Small DOM and formatting helpers. Text always goes in through textContent (never innerHTML): names and
// messages come from customers.

export const CHANNELS = {
  web: { label: "Web", mark: "W" },
  app: { label: "App", mark: "A" },
  store: { label: "Store", mark: "S" },
  whatsapp: { label: "WhatsApp", mark: "WA" },
  sms: { label: "SMS", mark: "SM" },
  email: { label: "E-mail", mark: "@" },
  messenger: { label: "Messenger", mark: "M" },
  instagram: { label: "Instagram", mark: "IG" },
  phone: { label: "Phone", mark: "☎" },
  chat: { label: "Chat", mark: "C" },
};

export const LOCALE = navigator.language || "en";

/** h("div.card#id", {attrs}, ...children): a tiny element builder. */
export function h(spec, attrs = {}, ...children) {
  const [tagAndClasses, id] = spec.split("#");
  const [tag, ...classes] = tagAndClasses.split(".");
  const svg = ["svg", "g", "rect", "text", "line", "polyline", "circle", "path", "title"].includes(tag);
  const element = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  if (classes.length) element.setAttribute("class", classes.join(" "));
  if (id) element.id = id;
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function channelBadge(channel) {
  const known = CHANNELS[channel] || { label: channel || "?", mark: "?" };
  return h(
    `span.badge.ch-${channel || "unknown"}`,
    { "data-channel": channel, title: known.label },
    h("span.mark", { "aria-hidden": "true" }, known.mark),
    known.label,
  );
}

export function dateTime(value) {
  if (!value) return "—";
  const when = new Date(value);
  if (Number.isNaN(when.getTime())) return String(value);
  return new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" }).format(when);
}

export function money(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return "—";
  try {
    return new Intl.NumberFormat(LOCALE, { style: "currency", currency: currency || "TRY" }).format(Number(amount));
  } catch {
    return `${amount} ${currency || ""}`.trim();
  }
}

export function number(value, digits = 0) {
  if (value === null || value === undefined || value === "") return "—";
  return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(
    Number(value),
  );
}

export function percent(rate, digits = 1) {
  if (rate === null || rate === undefined || rate === "") return "—";
  return new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: digits }).format(Number(rate));
}

/** The `lang` a piece of customer text is most likely in, so the browser picks the right glyphs (CJK, Turkish). */
export function langOf(text) {
  const value = String(text || "");
  const han = /[\u4e00-\u9fff\u3400-\u4dbf]/.test(value);
  const turkish = /[ğĞıİşŞçÇöÖüÜ]/.test(value);
  const latin = /[A-Za-z]/.test(value);
  if (/[\u3040-\u30ff]/.test(value)) return "ja";
  if (han && !latin) return "zh";
  if (turkish && !han) return "tr";
  return null; // mixed scripts: the font stack's fallback draws each character
}

export function textOf(text, spec = "span") {
  const lang = langOf(text);
  return h(spec, lang ? { lang } : {}, text ?? "—");
}

export function clear(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined));
  return element;
}
