// The KPI dashboard: GET /kpis (per channel for the period, and per day/week/month over time) and GET
// /kpis/cohorts. Figures are shown as the API computed them; nothing is recomputed here except the funnel's
// arrangement of the API's counters.

import { api, downloadCsv } from "./api.js";
import { barChart, funnel, heatmap, lineChart } from "./charts.js";
import { CHANNELS, clear, h, money, number, percent } from "./format.js";

function granularityFor(start, end) {
  const days = (new Date(end) - new Date(start)) / 86400000 + 1;
  if (days <= 45) return "day";
  if (days <= 200) return "week";
  return "month";
}

// Tiles compare with the previous period of the same length: an arrow, the change, the previous value. For
// costs (CAC) a rise is bad, so the arrow's colour says good or bad, not up or down.
const LOWER_IS_BETTER = new Set(["cac"]);

function tile(key, label, value, text, delta) {
  const children = [h("span.label", {}, label), h("strong", {}, text)];
  if (delta && delta.change !== null && delta.change !== undefined) {
    const change = Number(delta.change);
    const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
    const good = direction === "flat" ? "same" : (direction === "up") !== LOWER_IS_BETTER.has(key) ? "good" : "bad";
    const arrow = { up: "▲", down: "▼", flat: "■" }[direction];
    const unknown = delta.change_rate === null || delta.change_rate === undefined;
    const rate = direction === "flat" ? "no change" : unknown ? "new" : percent(delta.change_rate);
    children.push(h(`span.delta.${good}`, {
      "data-direction": direction, "data-change": delta.change, "data-change-rate": delta.change_rate ?? "",
      "data-previous": delta.previous, title: `previous period: ${delta.previous}`,
    }, `${arrow} ${rate}`));
  }
  return h("div.tile", { "data-kpi": key, "data-value": value ?? "" }, ...children);
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
  const exportButton = h("button#kpi-csv", { type: "button", disabled: true }, "Export CSV");
  const status = h("p.status", { role: "status", "aria-live": "polite", id: "kpi-status" });
  const form = h("form.filters#kpi-form", {},
    h("div.field", {}, h("label", { for: "kpi-start" }, "From"), start),
    h("div.field", {}, h("label", { for: "kpi-end" }, "To"), end),
    h("fieldset.channels", {}, h("legend", {}, "Channels (none = all)"), boxes),
    h("button.primary#kpi-apply", { type: "submit" }, "Apply"), exportButton);
  let shown = null;
  exportButton.addEventListener("click", async () => {
    if (!shown) return;
    status.textContent = "Exporting…";
    try {
      const text = await downloadCsv("/kpis", shown.params, `kpis-${shown.params.start}-${shown.params.end}.csv`);
      status.textContent = `Exported ${text.split("\r\n").filter(Boolean).length - 1} rows (CSV, one per period and channel).`;
      root.dataset.exported = "true";
    } catch (error) {
      status.textContent = `Could not export: ${error.message}`;
    }
  });
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
      const period = { start: current.start, end: current.end };
      const [byChannel, overTime, cohorts, lifecycle] = await Promise.all([
        api("/kpis", { params: { ...period, channel, granularity: "total", compare: "previous_period" } }),
        api("/kpis", { params: { ...period, channel, granularity } }),
        api("/kpis/cohorts", { params: { from_month: current.start.slice(0, 7), to_month: current.end.slice(0, 7) } }),
        api("/kpis/lifecycle", { params: period }),
      ]);
      render(out, byChannel, overTime, cohorts, lifecycle, current);
      shown = { params: { ...period, channel, granularity } };
      exportButton.disabled = false;
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

function render(out, byChannel, overTime, cohorts, lifecycle, current) {
  const currency = byChannel.reporting_currency;
  const totals = byChannel.totals;
  const deltas = byChannel.comparison ? byChannel.comparison.deltas : {};
  const stages = Object.keys(lifecycle.census);
  const missing = totals.missing_rates.map((code) => {
    const part = totals.unconverted[code];
    return `${code} (${number(part.orders)} orders, ${money(part.gross, code)})`;
  });
  const rows = byChannel.rows.filter((row) => row.channel);
  const label = (channel) => CHANNELS[channel]?.label || channel;
  // A channel without spend (none recorded, in any currency) has no acquisition cost to show, not a cost of 0.00
  const unspent = (row) => Number(row.spend) === 0 && !Object.values(row.unconverted || {}).some((part) => Number(part.spend));
  const bars = (key, format) => rows.map((row) => ({ key: row.channel, label: label(row.channel), value: row[key], text: format(row[key]) }));
  const periods = overTime.periods.map((row) => row.period);
  const series = (name, key, title) => ({
    name, label: title, points: overTime.periods.map((row) => ({ x: row.period, value: row[key], text: number(row[key], 2) })),
  });
  const repeat = cohorts.cohorts.reduce((sum, row) => sum + Number(row.repeat_customers || 0), 0);
  clear(out,
    missing.length ? h("p.notice#missing-rates", { role: "note", "data-currencies": totals.missing_rates.join(" ") },
      `No exchange rate for ${missing.join(", ")}: these amounts are left out of the ${currency} figures (never counted as zero); set KpiFxRates to include them.`) : null,
    byChannel.comparison ? h("p.compare-note", {}, `Arrows: change against ${byChannel.comparison.start} to ${byChannel.comparison.end}.`) : null,
    h("div.tiles", {},
      tile("aov_gross", "AOV", totals.aov_gross, money(totals.aov_gross, currency), deltas.aov_gross),
      tile("gross", "Revenue", totals.gross, money(totals.gross, currency), deltas.gross),
      tile("orders", "Orders", totals.orders, number(totals.orders), deltas.orders),
      tile("conversion_rate", "Conversion", totals.conversion_rate, percent(totals.conversion_rate), deltas.conversion_rate),
      tile("cac", "CAC (blended)", totals.cac, money(totals.cac, currency), deltas.cac),
      tile("nps", "NPS", totals.nps, number(totals.nps, 1), deltas.nps),
      tile("csat", "CSAT", totals.csat, totals.csat === null ? "—" : `${number(totals.csat, 1)}%`, deltas.csat),
      tile("recovered", "Recovered revenue", totals.recovered, money(totals.recovered, currency), deltas.recovered)),
    h("div.charts", {},
      barChart("aov", `AOV by channel (${currency})`, bars("aov_gross", (v) => money(v, currency))),
      barChart("conversion", "Conversion rate by channel (orders / sessions)", bars("conversion_rate", (v) => percent(v))),
      barChart("cac", `CAC by channel (${byChannel.attribution.model.replace("_", " ")}, ${currency})`,
        rows.map((row) => ({ key: row.channel, label: label(row.channel), value: row.cac, text: unspent(row) ? "no spend" : money(row.cac, currency) }))),
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
      barChart("census", `Customers per lifecycle stage now (${lifecycle.as_of})`,
        stages.map((stage) => ({ key: stage, label: stage, value: lifecycle.census[stage], text: `${number(lifecycle.census[stage])} (${Number(lifecycle.change[stage]) >= 0 ? "+" : ""}${number(lifecycle.change[stage])} in the period)` })),
        { labelWidth: 118, valueWidth: 170, note: "A census of the customers' current stages; the change is the period's movement in and out of each stage." }),
      heatmap("cohorts", "Cohort retention (share of each first-purchase month ordering k months later)", cohorts.cohorts)));
}
