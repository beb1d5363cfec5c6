// Journeys: the list with each journey's headline figures and lift (GET /journeys), one journey's funnel (GET
// /journeys/{id}), and the Customer 360's card of the journeys a customer is in and what they were sent (GET
// /journeys/customers/{profile_id}). Figures are the API's: the console arranges them and never recomputes a
// rate or an interval.

import { api } from "./api.js";
import { barChart, funnel } from "./charts.js";
import { CHANNELS, channelBadge, clear, dateTime, h, number, percent, textOf } from "./format.js";

/** Percentage points, signed: 0.0407 -> "+4.07 pts". */
function points(value) {
  if (value === null || value === undefined) return "—";
  const shown = (Number(value) * 100).toFixed(2);
  return `${Number(value) > 0 ? "+" : ""}${shown} pts`;
}

function signedPercent(value) {
  if (value === null || value === undefined) return "—";
  return `${Number(value) > 0 ? "+" : ""}${percent(value)}`;
}

function interval(pair, format) {
  return pair ? `${format(pair[0])} to ${format(pair[1])}` : "—";
}

function ratio(part, whole) {
  return `${number(part)} of ${number(whole)}`;
}

/** The lift in words and figures: each group's conversion with its counts, the difference with its interval. */
function liftBlock(lift) {
  if (!lift) return h("p.muted.lift#lift", { "data-lift": "none" }, "No goal: this journey reports no lift.");
  const confidence = percent(lift.confidence, 0);
  return h("div.lift#lift", { "data-values": JSON.stringify(lift) },
    h("dl.pairs", {},
      h("dt", {}, "Entered (treatment)"),
      h("dd", { "data-field": "treatment" }, `${ratio(lift.converted, lift.entered)} converted (${percent(lift.treatment_rate)})`),
      h("dt", {}, "Held out"),
      h("dd", { "data-field": "holdout" }, `${ratio(lift.converted_held_out, lift.held_out)} converted (${percent(lift.holdout_rate)})`),
      h("dt", {}, "Lift"),
      h("dd", { "data-field": "absolute" }, h("strong", {}, points(lift.absolute)),
        h("span.muted", {}, ` · ${confidence} interval ${interval(lift.absolute_interval, points)}`)),
      h("dt", {}, "Relative lift"),
      h("dd", { "data-field": "relative" }, signedPercent(lift.relative),
        h("span.muted", {}, ` · ${confidence} interval ${interval(lift.relative_interval, signedPercent)}`)),
      h("dt", {}, "p-value"),
      h("dd", { "data-field": "p_value" }, lift.p_value === null ? "—" : number(lift.p_value, 4))),
    h("p.note", {}, `${lift.interval}. A group without customers gives no figures; an interval across 0 means the `
      + "journey's effect is not told apart from chance yet."));
}

export async function journeysView(root, journeyId) {
  clear(root, h("p.status", { role: "status" }, "Loading the journeys…"));
  root.dataset.loaded = "false";
  try {
    if (journeyId) await journeyDetail(root, journeyId);
    else await journeyList(root);
    root.dataset.loaded = "true";
  } catch (error) {
    clear(root, h("h1", {}, "Journeys"), h("p.status.error", { role: "alert" }, `Could not load: ${error.message}`),
      journeyId ? h("p", {}, h("a", { href: "#/journeys" }, "All journeys")) : null);
  }
}

async function journeyList(root) {
  const { journeys } = await api("/journeys");
  const rows = journeys.map((journey) => {
    const lift = journey.lift;
    return h("tr", { "data-journey-id": journey.id, "data-values": JSON.stringify(journey) },
      h("th", { scope: "row" }, h("a", { href: `#/journeys/${encodeURIComponent(journey.id)}` }, textOf(journey.name)),
        journey.enabled ? null : h("span.state", {}, " paused"),
        h("div.muted.small", {}, journey.trigger)),
      h("td.num", {}, number(journey.entered)),
      h("td.num", {}, `${number(journey.held_out)} (${percent(journey.holdout, 0)})`),
      h("td.num", {}, lift ? `${number(journey.converted)} (${percent(lift.treatment_rate)})` : number(journey.converted)),
      h("td.num", {}, lift ? `${number(journey.converted_held_out)} (${percent(lift.holdout_rate)})` : "—"),
      h("td.num", {}, lift ? points(lift.absolute) : "no goal"),
      h("td.num", {}, lift ? interval(lift.absolute_interval, points) : "—"));
  });
  clear(root,
    h("h1", {}, "Journeys"),
    h("p.lead", {}, "Each journey in force, the customers it took in and held out, and its lift: goal conversion of "
      + "the customers who entered against those held out, with its 95 % interval."),
    h("div.card.scroll", {},
      h("table.journeys#journeys-table", {},
        h("thead", {}, h("tr", {},
          ["Journey", "Entered", "Held out (share)", "Converted", "Converted (held out)", "Lift", "95 % interval"].map((title) =>
            h("th", { scope: "col" }, title)))),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 7 }, "No journey is deployed."))))));
}

async function journeyDetail(root, journeyId) {
  const { journey, funnel: figures } = await api(`/journeys/${encodeURIComponent(journeyId)}`);
  const channelLabel = (channel) => CHANNELS[channel]?.label || channel;
  const stages = [
    { key: "entered", label: "Entered", value: figures.entered },
    ...figures.steps.map((step) => ({ key: `step:${step.id}`, label: `${step.id} (${step.type})`, value: step.reached })),
    { key: "converted", label: "Converted (goal)", value: figures.converted },
  ];
  const byChannel = (counts) => Object.entries(counts || {}).map(([channel, value]) => ({
    key: channel, label: channelLabel(channel), value, text: number(value),
  }));
  const sent = byChannel(figures.sent);
  const delivery = figures.delivery || { sent: {}, failed: {}, cancelled: {} };
  const delivered = byChannel(delivery.sent);
  const ended = (state) => Object.values(delivery[state] || {}).reduce((total, value) => total + value, 0);
  const outcomes = {
    ...Object.fromEntries(Object.entries(figures.exited).map(([reason, value]) => [`exited:${reason}`, value])),
    ...Object.fromEntries(Object.entries(figures.skipped).map(([reason, value]) => [`skipped:${reason}`, value])),
  };
  const outcomeRows = Object.entries(outcomes).map(([key, value]) => {
    const [what, reason] = key.split(":");
    return h("tr", { "data-outcome": key }, h("th", { scope: "row" }, what === "exited" ? "Left early" : "Send skipped"),
      h("td", {}, reason.replace(/_/g, " ")), h("td.num", {}, number(value)));
  });
  const surveys = figures.surveys;
  const survey = surveys.asked
    ? h("dl.pairs#journey-surveys", {},
      h("dt", {}, "Asked / answered"), h("dd", {}, `${number(surveys.asked)} / ${number(surveys.answered)} (${percent(surveys.response_rate)})`),
      h("dt", {}, "NPS"), h("dd", {}, surveys.nps.answers ? `${number(surveys.nps.score, 1)} (${number(surveys.nps.answers)} answers)` : "—"),
      h("dt", {}, "CSAT"), h("dd", {}, surveys.csat.answers ? `${number(surveys.csat.score, 1)} % (${number(surveys.csat.answers)} answers)` : "—"),
      h("dt", {}, "Low answers followed up"), h("dd", {}, `${number(surveys.followed_up)} of ${number(surveys.low_answers)}`))
    : h("p.muted", {}, "No survey asked.");
  clear(root,
    h("p.crumbs", {}, h("a", { href: "#/journeys" }, "Journeys"), ` › ${journey.name}`),
    h("h1#journey-name", { "data-journey-id": journey.id }, textOf(journey.name)),
    h("p.lead", {}, textOf(journey.description)),
    h("p.muted", {}, `Version ${journey.version} · ${journey.enabled ? "enabled" : "paused (no new entries)"} · trigger: `
      + `${journey.trigger} · goal: ${journey.goal || "none"} · holdout ${percent(journey.holdout, 0)}`),
    h("div.tiles", {},
      tileOf("entered", "Entered", figures.entered),
      tileOf("held_out", "Held out", figures.held_out),
      tileOf("converted", "Converted", figures.converted),
      tileOf("converted_held_out", "Converted (held out)", figures.converted_held_out),
      tileOf("finished", "Finished", figures.finished),
      tileOf("tasks", "Agent tasks", figures.tasks),
      tileOf("rewards", "Rewards", figures.rewards),
      ...(figures.store_offers ? [tileOf("store_offers", "Store offers asked", figures.store_offers)] : []),
      tileOf("deferred", "Deferred (quiet hours)", figures.deferred)),
    h("div.charts", {},
      funnel("journey-funnel", "Funnel: entered, each step reached, converted", stages,
        { note: "Held-out customers run no step; they are counted apart, with their own conversions." }),
      barChart("journey-sent", "Requested by channel", sent,
        { note: "Messages and survey questions the journey asked outbound to send, per channel chosen." }),
      barChart("journey-delivered", "Delivered by channel", delivered,
        { note: `Accepted by the provider. Not delivered: ${number(ended("failed"))} failed, `
          + `${number(ended("cancelled"))} cancelled before sending.` }),
      h("section.card#journey-outcomes", { "aria-labelledby": "journey-outcomes-title", "data-values": JSON.stringify(outcomes) },
        h("h2#journey-outcomes-title", {}, "Left early, sends skipped"),
        outcomeRows.length
          ? h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Why"),
            h("th", { scope: "col" }, "Customers"))), h("tbody", {}, outcomeRows))
          : h("p.muted", {}, "No customer left early and no send was skipped."),
        h("p.note", {}, "Skipped: no consented channel with an address (no channel), or the frequency cap (capped).")),
      h("section.card#journey-lift-card", { "aria-labelledby": "journey-lift-title" },
        h("h2#journey-lift-title", {}, "Lift"), liftBlock(figures.lift)),
      h("section.card#journey-surveys-card", { "aria-labelledby": "journey-surveys-title" },
        h("h2#journey-surveys-title", {}, "Surveys"), survey)));
}

function tileOf(key, label, value) {
  return h("div.tile", { "data-figure": key, "data-value": value ?? "" }, h("span.label", {}, label), h("strong", {}, number(value)));
}

const STATUS_WORDS = { active: "in progress", held_out: "held out", finished: "finished", exited: "left early" };

const DELIVERY_WORDS = {
  pending: "not yet announced", requested: "requested", sent: "sent", failed: "failed", cancelled: "cancelled",
};

/** A message's state as a small badge: its end (sent, failed, cancelled) once outbound said, else requested or not yet
 * announced; why it did not go out (a provider's code, a cancellation's reason) and when it ended beneath. */
function deliveryBadge(item) {
  const word = DELIVERY_WORDS[item.status] || item.status;
  return [
    h(`span.state.sent-${item.status}`, { "data-delivery": item.status }, word),
    item.delivery_error ? h("div.muted.small", { "data-delivery-error": item.delivery_error }, item.delivery_error.replace(/_/g, " ")) : null,
    item.delivered_at ? h("div.muted.small", {}, h("time", { datetime: item.delivered_at }, dateTime(item.delivered_at))) : null,
  ];
}

/** The Customer 360's card: the runs (journey, step and since when, group) and what was sent (step, channel, when,
 * and how it ended). */
export function customerJourneysCard(answer) {
  const card = (...children) => h("section.card#journeys-card", { "aria-labelledby": "journeys-card-title" },
    h("h2#journeys-card-title", {}, "Journeys"), ...children);
  if (!answer) return card(h("p.muted", {}, "The journeys could not be loaded."));
  const runs = answer.journeys.length
    ? h("ul.runs#journey-runs", {}, answer.journeys.map((run) => h("li", {
      "data-journey-id": run.journey_id, "data-status": run.status, "data-group": run.group, "data-step": run.step || "",
    },
    h("a", { href: `#/journeys/${encodeURIComponent(run.journey_id)}` }, textOf(run.journey_name || run.journey_id)), " ",
    h(`span.state.run-${run.status}`, {}, STATUS_WORDS[run.status] || run.status),
    run.held_out ? h("span.state.run-holdout", {}, "holdout group") : null,
    h("div.muted.small", {},
      run.step ? `at step ${run.step} since ${dateTime(run.step_since)}` : run.end_reason ? `ended (${run.end_reason}) ${dateTime(run.ended_at)}` : "no step runs",
      ` · entered ${dateTime(run.entered_at)}`,
      run.converted_at ? ` · converted ${dateTime(run.converted_at)}` : "",
      run.answers.length ? ` · answered ${run.answers.map((a) => `${a.kind.toUpperCase()} ${a.score}`).join(", ")}` : ""))))
    : h("p.muted", {}, "In no journey.");
  const sent = answer.sent.length
    ? h("div.scroll", {}, h("table.sent#journey-sent-log", {},
      h("thead", {}, h("tr", {}, ["When", "What", "Channel · status"].map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, answer.sent.map(sentRow))))
    : h("p.muted", {}, "Nothing sent by a journey.");
  return card(runs, h("h3", {}, "Sent by journeys"), sent);
}

function sentRow(item) {
  return h("tr", { "data-event-id": item.event_id, "data-status": item.status },
    h("td", {}, h("time", { datetime: item.at }, dateTime(item.at))),
    h("td", {}, describe(item), h("div.muted.small", {}, `${item.journey_id} · step ${item.step_id}`)),
    h("td", {}, item.channel ? channelBadge(item.channel) : "no channel", h("div", {}, ...deliveryBadge(item))));
}

function describe(item) {
  const details = item.details || {};
  const named = {
    message: details.template && `${details.template} (${details.kind})`,
    agent_task: details.reason && `${details.kind}: ${details.reason}`,
    reward: details.campaign,
    store_offer: details.cart_id && `cart of ${details.value} ${details.currency}`,
    survey_answer: details.kind && `${String(details.kind).toUpperCase()} ${details.score} (${details.via})`,
  }[item.kind];
  return `${item.kind.replace("_", " ")}${named ? ` · ${named}` : ""}`;
}
