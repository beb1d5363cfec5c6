// The KPI dashboard: GET /kpis (per channel for the period, and per day/week/month over time) and GET
// /kpis/cohorts. Figures are shown as the API computed them; nothing is recomputed here except the funnel's
// arrangement of the API's counters.

import { api } from "./api.js";
import { barChart, funnel, heatmap, lineChart } from "./charts.js";
import { CHANNELS, clear, h, money, number, percent } from "./format.js";

function granularityFor(start, end) {
  const days = (new Date(end) - new Date(start)) / 86400000 + 1;
  if (days <= 45) return "day";
  if (days <= 200) return "week";
  return "month";
}

function tile(key, label, value, text) {
  return h("div.tile", { "data-kpi": key, "data-value": value ?? "" }, h("span.label", {}, label), h("strong", {}, text));
}

export function kpiView(root, state) {
  // No dates until the API resolves its default period: the last 30 business days in the KPI time zone. The
  // browser's own date (UTC, or the viewer's zone) is a different day around midnight in the business's zone.
  const defaults = { start: "", end: "", channels: [] };
  const filters = { ...defaults, ...state };
  const start = h("input#kpi-start", { type: "date", value: filters.start, required: true });
  const end = h("input#kpi-end", { type: "date", value: filters.end, required: true });
  const boxes = Object.entries(CHANNELS).map(([value, spec]) =>
    h("label.check", {}, h("input", { type: "checkbox", name: "channel", value, checked: filters.channels.includes(value) }), spec.label));
  const out = h("div#kpi-out");
  const status = h("p.status", { role: "status", "aria-live": "polite", id: "kpi-status" });
  const form = h("form.filters#kpi-form", {},
    h("div.field", {}, h("label", { for: "kpi-start" }, "From"), start),
    h("div.field", {}, h("label", { for: "kpi-end" }, "To"), end),
    h("fieldset.channels", {}, h("legend", {}, "Channels (none = all)"), boxes),
    h("button.primary#kpi-apply", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const channels = boxes.map((box) => box.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
    load({ start: start.value, end: end.value, channels });
  });
  clear(root, h("h1", {}, "KPIs"), form, status, out);

  async function load(current) {
    status.textContent = "Loading…";
    root.dataset.loaded = "false";
    const channel = current.channels.join(",") || undefined;
    try {
      const total = (period) => api("/kpis", { params: { ...period, channel, granularity: "total" } });
      const resolved = current.start && current.end ? null : await total({});
      if (resolved) {
        current = { ...current, start: resolved.start, end: resolved.end };
        start.value = resolved.start;
        end.value = resolved.end;
      }
      const granularity = granularityFor(current.start, current.end);
      const [byChannel, overTime, cohorts] = await Promise.all([
        resolved || total({ start: current.start, end: current.end }),
        api("/kpis", { params: { start: current.start, end: current.end, channel, granularity } }),
        api("/kpis/cohorts", { params: { from_month: current.start.slice(0, 7), to_month: current.end.slice(0, 7) } }),
      ]);
      render(out, byChannel, overTime, cohorts, current);
      status.textContent = `${current.start} to ${current.end} (${byChannel.time_zone}), ${current.channels.length ? current.channels.join(", ") : "all channels"}; amounts in ${byChannel.reporting_currency}.`;
      root.dataset.loaded = "true";
      root.dataset.period = `${byChannel.start}/${byChannel.end}`;
      root.dataset.granularity = granularity;
    } catch (error) {
      status.textContent = `Could not load the KPIs: ${error.message}`;
    }
  }
  load(filters);
}

function render(out, byChannel, overTime, cohorts, current) {
  const currency = byChannel.reporting_currency;
  const totals = byChannel.totals;
  const rows = byChannel.rows.filter((row) => row.channel);
  const label = (channel) => CHANNELS[channel]?.label || channel;
  const bars = (key, format) => rows.map((row) => ({ key: row.channel, label: label(row.channel), value: row[key], text: format(row[key]) }));
  const periods = overTime.periods.map((row) => row.period);
  const series = (name, key, title) => ({
    name, label: title, points: overTime.periods.map((row) => ({ x: row.period, value: row[key], text: number(row[key], 2) })),
  });
  const repeat = cohorts.cohorts.reduce((sum, row) => sum + Number(row.repeat_customers || 0), 0);
  clear(out,
    h("div.tiles", {},
      tile("aov_gross", "AOV", totals.aov_gross, money(totals.aov_gross, currency)),
      tile("gross", "Revenue", totals.gross, money(totals.gross, currency)),
      tile("orders", "Orders", totals.orders, number(totals.orders)),
      tile("conversion_rate", "Conversion", totals.conversion_rate, percent(totals.conversion_rate)),
      tile("cac", "CAC (blended)", totals.cac, money(totals.cac, currency)),
      tile("nps", "NPS", totals.nps, number(totals.nps, 1)),
      tile("csat", "CSAT", totals.csat, totals.csat === null ? "—" : `${number(totals.csat, 1)}%`),
      tile("recovered", "Recovered revenue", totals.recovered, money(totals.recovered, currency))),
    h("div.charts", {},
      barChart("aov", `AOV by channel (${currency})`, bars("aov_gross", (v) => money(v, currency))),
      barChart("conversion", "Conversion rate by channel (orders / sessions)", bars("conversion_rate", (v) => percent(v))),
      barChart("cac", `CAC by channel (${byChannel.attribution.model.replace("_", " ")}, ${currency})`, bars("cac", (v) => money(v, currency))),
      barChart("cpa", `Cost per acquisition by channel (${currency})`, bars("cost_per_acquisition", (v) => money(v, currency))),
      lineChart("satisfaction", "NPS and CSAT over time", periods,
        [series("nps", "nps", "NPS"), series("csat", "csat", "CSAT %")], { min: -100, max: 100 }),
      barChart("recovered", `Recovered revenue by channel (${currency})`, bars("recovered", (v) => money(v, currency))),
      funnel("funnel", "Lifecycle funnel (period)", [
        { key: "sessions", label: "Visits (sessions)", value: Number(totals.sessions) },
        { key: "prospects", label: "Acquisition: leads and sign-ups", value: Number(totals.leads) + Number(totals.signups) },
        { key: "new_customers", label: "Experimentation: first orders", value: Number(totals.new_customers) },
        { key: "repeat_customers", label: "Loyalty: repeat customers", value: repeat },
      ], { note: "Repeat customers: of the cohorts first buying in the period's months." }),
      heatmap("cohorts", "Cohort retention (share of each first-purchase month ordering k months later)", cohorts.cohorts)));
}
