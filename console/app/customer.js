// Customer search, the Customer 360 and the handoff views (create a ticket with its code and QR; redeem a code).
//
// The 360 is one bounded page of requests whatever the customer's history: the handoff context (profile, the
// newest timeline page, cart, conversations, consent, tickets) plus the merge log, the customer's value and their
// journeys;
// older timeline pages only when the agent asks ("Older events").

import { api, ApiError } from "./api.js";
import { customerJourneysCard } from "./journeys.js";
import {
  channelBadge, clear, dateTime, h, langOf, money, number, textOf, CHANNELS,
} from "./format.js";

const SEARCH_KINDS = {
  email: { label: "E-mail", placeholder: "ayse.yilmaz@ornek.com.tr", param: (v) => ({ email: v }) },
  phone: { label: "Phone", placeholder: "+90 532 123 45 67", param: (v) => ({ phone: v }) },
  handle: {
    label: "Channel handle",
    placeholder: "whatsapp:905321234567 or loyalty_card:LC-123",
    param: (v) => ({ identifier: v }),
  },
};

function problem(error) {
  if (error instanceof ApiError) {
    const field = error.body.field || error.body.errors?.[0]?.field;
    return `${error.status}: ${error.message}${field ? ` (${field})` : ""}`;
  }
  return String(error);
}

export function searchView(root, navigate) {
  const status = h("p.status", { role: "status", "aria-live": "polite", id: "search-status" });
  const kind = h("select#search-kind", { name: "kind" },
    Object.entries(SEARCH_KINDS).map(([value, spec]) => h("option", { value }, spec.label)));
  const query = h("input#search-query", {
    name: "q", type: "search", required: true, autocomplete: "off", placeholder: SEARCH_KINDS.email.placeholder,
  });
  kind.addEventListener("change", () => {
    query.placeholder = SEARCH_KINDS[kind.value].placeholder;
  });
  const form = h("form.search#search-form", { role: "search" },
    h("div.field", {}, h("label", { for: "search-kind" }, "Search by"), kind),
    h("div.field.grow", {}, h("label", { for: "search-query" }, "Value"), query),
    h("button.primary#search-submit", { type: "submit" }, "Find customer"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Searching…";
    try {
      const profile = await api("/profiles", { params: SEARCH_KINDS[kind.value].param(query.value.trim()) });
      status.textContent = "";
      navigate(`#/customers/${encodeURIComponent(profile.profile_id)}`);
    } catch (error) {
      status.textContent = error.status === 404 ? "No customer holds that identifier." : problem(error);
    }
  });
  clear(root,
    h("h1", {}, "Find a customer"),
    h("p.lead", {}, "By e-mail, phone number (any format) or a channel handle such as a WhatsApp number or loyalty card."),
    form, status);
  query.focus();
}

function section(title, id, ...children) {
  return h("section.card", { "aria-labelledby": `${id}-title`, id },
    h("h2", { id: `${id}-title` }, title), ...children);
}

function definition(rows) {
  return h("dl.pairs", {}, rows.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function displayName(profile) {
  const traits = profile.traits || {};
  return traits.name || [traits.firstName || traits.first_name, traits.lastName || traits.last_name].filter(Boolean).join(" ")
    || (profile.identifiers.email || [])[0] || profile.profile_id;
}

function eventLine(event) {
  const properties = event.properties || {};
  const what = event.name || event.type;
  const detail = [];
  if (properties.text || properties.body) detail.push(textOf(properties.text || properties.body, "q"));
  if (properties.total || properties.revenue) detail.push(h("span", {}, money(properties.total ?? properties.revenue, properties.currency)));
  if (properties.nps !== undefined) detail.push(h("span", {}, `NPS ${properties.nps}`));
  if (properties.csat !== undefined) detail.push(h("span", {}, `CSAT ${properties.csat} / 5`));
  if ((event.type === "page" || event.type === "screen") && (properties.url || properties.path)) {
    detail.push(h("span", {}, properties.url || properties.path));
  }
  return h("li.event", { "data-channel": event.channel, "data-event-id": event.event_id },
    h("time", { datetime: event.occurred_at }, dateTime(event.occurred_at)),
    channelBadge(event.channel),
    h("span.what", {}, textOf(what)),
    h("span.detail", {}, detail));
}

export async function customerView(root, profileId, navigate) {
  clear(root, h("p.status", { role: "status" }, "Loading the customer…"));
  let context;
  try {
    context = await api(`/handoff/customers/${encodeURIComponent(profileId)}/context`);
  } catch (error) {
    clear(root, h("h1", {}, "Customer"), h("p.status.error", { role: "alert" }, problem(error)),
      h("p", {}, h("a", { href: "#/search" }, "Back to search")));
    return;
  }
  const profile = context.profile;
  const [merges, value, journeys] = await Promise.all([
    api(`/profiles/${encodeURIComponent(profile.profile_id)}/merges`).catch(() => null),
    api(`/kpis/profiles/${encodeURIComponent(profile.profile_id)}`).catch(() => null),
    api(`/journeys/customers/${encodeURIComponent(profile.profile_id)}`).catch(() => null),
  ]);
  const name = displayName(profile);
  const lang = langOf(name);

  const timelineList = h("ol.timeline#timeline", { "aria-label": "Events, newest first" },
    context.timeline.events.map(eventLine));
  const filter = h("select#timeline-channel", {},
    h("option", { value: "" }, "All channels"),
    [...new Set(context.timeline.events.map((event) => event.channel))].map((channel) =>
      h("option", { value: channel }, CHANNELS[channel]?.label || channel)));
  const applyFilter = () => {
    for (const item of timelineList.children) item.hidden = Boolean(filter.value) && item.dataset.channel !== filter.value;
  };
  filter.addEventListener("change", applyFilter);
  let cursor = context.timeline.cursor;
  const more = h("button#timeline-more", { type: "button", hidden: !cursor }, "Older events");
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await api(`/profiles/${encodeURIComponent(profile.profile_id)}/timeline`, { params: { cursor, limit: 50 } });
      timelineList.append(...page.events.map(eventLine));
      applyFilter();
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } finally {
      more.disabled = false;
    }
  });

  const identities = h("ul.identities", {}, Object.entries(profile.identifiers).flatMap(([kind, values]) =>
    values.map((identifier) => h("li", {}, h("span.kind", {}, kind), " ", textOf(identifier, "code")))));
  const mergeList = merges && merges.merges.length
    ? h("ul.merges", {}, merges.merges.map((merge) => h("li", {},
      `${dateTime(merge.merged_at)}: `, h("code", {}, merge.merged_id), ` merged in (${merge.rule})`,
      merge.undone_at ? ` — undone ${dateTime(merge.undone_at)}` : "")))
    : h("p.muted", {}, "No merges.");

  const cart = context.cart;
  const cartBody = cart && cart.lines.length
    ? h("div", {},
      h("table.lines", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Qty"), h("th", { scope: "col" }, "Price"))),
        h("tbody", {}, cart.lines.map((line) => h("tr", {}, h("td", {}, textOf(line.name || line.product_id)),
          h("td", {}, line.quantity), h("td", {}, money(line.unit_price, cart.currency)))))),
      h("p", {}, h("strong", {}, "Total "), h("span#cart-total", { "data-total": cart.total }, money(cart.total, cart.currency)),
        h("span.muted", {}, ` · last activity ${dateTime(cart.last_activity_at)}`)))
    : h("p.muted", {}, "The cart is empty.");

  const conversations = context.conversations.length
    ? h("ul.conversations", {}, context.conversations.map((conversation) => h("li", {},
      channelBadge(conversation.channel), " ",
      h(`span.state.state-${conversation.state}`, {}, conversation.state), " ",
      h("span.muted", {}, `${conversation.message_count} message(s)`),
      conversation.last_message?.text ? h("blockquote", {}, textOf(conversation.last_message.text, "q")) : null)))
    : h("p.muted", {}, "No conversations or cases.");

  const consent = Object.keys(context.consent).length
    ? h("ul.consent", {}, Object.entries(context.consent).map(([channel, state]) =>
      h("li", { "data-consent": channel }, channelBadge(channel), " ", h(`span.state.consent-${state}`, {}, state.replace("_", " ")))))
    : h("p.muted", {}, "No consent recorded on any channel.");
  const reachable = context.reachable_channels || [];
  const reach = h("p#reachable", { "data-reachable": reachable.join(" ") },
    reachable.length ? ["Reach them on ", ...reachable.map(channelBadge)] : "No channel to message them on (no consent or no address).",
    context.preferred_channel ? h("span.muted", {}, ` · prefers ${context.preferred_channel}`) : null);

  const valueRows = value && value.known
    ? definition([
      ["Lifecycle stage", h("span.stage", { "data-stage": value.stage }, value.stage || "—")],
      ["Orders", number(value.frequency)],
      ["Historic value", money(value.historic_clv, value.reporting_currency)],
      ["Predicted value", value.predicted ? money(value.predicted.clv ?? value.predicted.predicted_clv, value.reporting_currency) : "—"],
      ["Last order", value.last_order_day || "—"],
    ])
    : h("p.muted", {}, "No orders counted yet.");

  clear(root,
    h("p.crumbs", {}, h("a", { href: "#/search" }, "Search"), " › Customer 360"),
    h("header.customer", {},
      h("h1#customer-name", lang ? { lang } : {}, name),
      h("p.muted", {}, h("code#customer-id", {}, profile.profile_id), " · ",
        `profile created ${dateTime(profile.created_at)} · last seen ${dateTime(profile.last_seen_at)}`),
      h("p.channels", {}, profile.channels.map(channelBadge))),
    h("div.grid",
      {},
      section("Timeline", "timeline-card",
        h("div.field.inline", {}, h("label", { for: "timeline-channel" }, "Channel"), filter),
        timelineList, more),
      h("div.stack", {},
        handoffCard(profile, context),
        section("Identities", "identities-card", identities, h("h3", {}, "Merges"), mergeList),
        section("Current cart", "cart-card", cartBody),
        section("Conversations and cases", "conversations-card", conversations),
        section("Consent", "consent-card", consent, reach),
        section("Value", "value-card", valueRows),
        customerJourneysCard(journeys))));
}

function drawQr(text) {
  const qr = window.qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const quiet = 4;
  const size = count + quiet * 2;
  const svg = h("svg", { viewBox: `0 0 ${size} ${size}`, class: "qr", role: "img", "aria-label": `QR code of ${text}`, "data-modules": count });
  svg.append(h("rect", { width: size, height: size, fill: "#fff" }));
  let path = "";
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (qr.isDark(row, col)) path += `M${col + quiet} ${row + quiet}h1v1h-1z`;
    }
  }
  svg.append(h("path", { d: path, fill: "#000" }));
  return svg;
}

function ticketView(ticket) {
  return h("div.ticket#ticket", { "data-code": ticket.code, "data-state": ticket.state },
    h("p", {}, "Code ", h("strong.code#ticket-code", {}, ticket.code)),
    h("p.muted", {}, `${ticket.from_channel} → ${ticket.to_channel} · expires ${dateTime(ticket.expires_at)}`),
    ticket.deep_link
      ? h("div.qr-box", {}, drawQr(ticket.deep_link), h("p", {}, h("a#ticket-link", { href: ticket.deep_link }, ticket.deep_link)))
      : h("p.muted", {}, "No link for this channel: read the code out."));
}

function handoffCard(profile, context) {
  const status = h("p.status", { role: "status", "aria-live": "polite" });
  const out = h("div#handoff-result");
  const channels = Object.keys(CHANNELS);
  const field = (id, label, control) => h("div.field", {}, h("label", { for: id }, label), control);
  const from = h("select#handoff-from", {}, channels.map((c) => h("option", { value: c }, CHANNELS[c].label)));
  from.value = context.timeline.events[0]?.channel || "phone";
  const to = h("select#handoff-to", {}, channels.map((c) => h("option", { value: c }, CHANNELS[c].label)));
  to.value = "store";
  const reason = h("input#handoff-reason", { required: true, maxlength: 200, value: "continue in store" });
  const note = h("textarea#handoff-note", { rows: 2, maxlength: 1000 });
  const form = h("form#handoff-form", {},
    h("div.row", {}, field("handoff-from", "From", from), field("handoff-to", "To", to)),
    field("handoff-reason", "Reason", reason), field("handoff-note", "Note for the next agent", note),
    h("button.primary#handoff-create", { type: "submit" }, "Create handoff"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Creating…";
    try {
      const ticket = await api("/handoff/tickets", {
        method: "POST",
        body: {
          profile_id: profile.profile_id, from_channel: from.value, to_channel: to.value,
          reason: reason.value, ...(note.value ? { note: note.value } : {}),
        },
      });
      status.textContent = "Handoff created: give the customer this code.";
      clear(out, ticketView(ticket));
    } catch (error) {
      status.textContent = problem(error);
    }
  });
  const open = (context.tickets || []).map((ticket) => h("li", {}, h("code", {}, ticket.code),
    ` ${ticket.from_channel} → ${ticket.to_channel}, until ${dateTime(ticket.expires_at)}`));
  const last = context.last_handoff;
  return section("Hand off", "handoff-card",
    last ? h("p.muted#last-handoff", { "data-state": last.state }, `Last handoff: ${last.code}, ${last.from_channel} → `
      + `${last.to_channel} (${last.state}), ${dateTime(last.redeemed_at || last.created_at)}`) : null,
    form, status, out,
    open.length ? [h("h3", {}, "Open tickets"), h("ul#open-tickets", {}, open)] : null);
}

export function redeemView(root, navigate, prefill = "") {
  const status = h("p.status", { role: "status", "aria-live": "polite", id: "redeem-status" });
  const code = h("input#redeem-code", {
    required: true, autocomplete: "off", autocapitalize: "characters", spellcheck: "false", placeholder: "ABCD-EFGH", value: prefill,
  });
  const channel = h("select#redeem-channel", {}, ["store", "phone", "chat", "whatsapp", "web", "app"].map((c) =>
    h("option", { value: c }, CHANNELS[c].label)));
  const store = h("input#redeem-store", { placeholder: "istanbul-kadikoy" });
  const out = h("div#redeem-result");
  const form = h("form#redeem-form", {},
    h("div.row", {},
      h("div.field", {}, h("label", { for: "redeem-code" }, "Handoff code"), code),
      h("div.field", {}, h("label", { for: "redeem-channel" }, "I am at"), channel),
      h("div.field", {}, h("label", { for: "redeem-store" }, "Store id (optional)"), store)),
    h("button.primary#redeem-submit", { type: "submit" }, "Redeem"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Redeeming…";
    clear(out);
    try {
      const answer = await api(`/handoff/tickets/${encodeURIComponent(code.value.trim())}/redeem`, {
        method: "POST", body: { channel: channel.value, ...(store.value ? { store_id: store.value } : {}) },
      });
      const { ticket, context } = answer;
      status.textContent = "Redeemed: the customer is yours.";
      const who = displayName(context.profile);
      clear(out, h("div.card#redeemed", { "data-profile-id": context.profile.profile_id, "data-state": ticket.state },
        h("h2", langOf(who) ? { lang: langOf(who) } : {}, who),
        definition([
          ["Reason", textOf(ticket.reason)],
          ticket.note ? ["Note", textOf(ticket.note)] : null,
          ["From", channelBadge(ticket.from_channel)],
          ["Cart", context.cart && context.cart.lines.length
            ? `${context.cart.lines.length} line(s), ${money(context.cart.total, context.cart.currency)}` : "empty"],
          ["Open conversations", String(context.open_conversations ?? 0)],
        ]),
        h("a.button#redeemed-open", { href: `#/customers/${encodeURIComponent(context.profile.profile_id)}` }, "Open Customer 360")));
    } catch (error) {
      const why = { 404: "No such code.", 410: "This code has expired or was already used.", 429: "Too many attempts: wait a moment." };
      status.textContent = why[error.status] || problem(error);
    }
  });
  clear(root, h("h1", {}, "Redeem a handoff code"),
    h("p.lead", {}, "The customer reads out or shows the code they were given; you get their context at once."),
    form, status, out);
  code.focus();
}
