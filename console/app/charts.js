// Hand-written SVG charts: bars, lines, a heatmap and a funnel. Each chart is a <figure data-chart="..."> with
// its values in data-values (JSON: label -> the API's value, unrounded) and in an accessible table beside it,
// so people using a screen reader and the e2e tests read exactly what the API answered.

import { h } from "./format.js";

const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d"];

function figure(name, title, values, chart, tableRows, headers, note) {
  return h(
    "figure.chart",
    { "data-chart": name, "data-values": JSON.stringify(values), "aria-labelledby": `chart-${name}-title` },
    h("figcaption", { id: `chart-${name}-title` }, title),
    chart,
    note ? h("p.note", {}, note) : null,
    h(
      "details.values",
      {},
      h("summary", {}, "Values"),
      h(
        "table",
        { "data-table": name },
        h("thead", {}, h("tr", {}, headers.map((cell) => h("th", { scope: "col" }, cell)))),
        h(
          "tbody",
          {},
          tableRows.map(([label, ...cells]) =>
            h("tr", {}, h("th", { scope: "row" }, label), cells.map((cell) => h("td", {}, cell))),
          ),
        ),
      ),
    ),
  );
}

function empty(name, title) {
  return h("figure.chart.empty", { "data-chart": name, "data-values": "{}" }, h("figcaption", {}, title),
    h("p.note", {}, "No data for this period."));
}

/** Horizontal bars: items [{label, value (the API's string or number), text (formatted)}]; ``valueWidth`` is the
 * room kept right of the longest bar for its text. */
export function barChart(name, title, items, { note, labelWidth = 90, valueWidth = 120 } = {}) {
  const shown = items.filter((item) => item.value !== null && item.value !== undefined);
  if (!shown.length) return empty(name, title);
  const max = Math.max(...shown.map((item) => Number(item.value)), 0) || 1;
  const row = 30;
  const width = 440;
  const svg = h("svg", {
    viewBox: `0 0 ${width} ${row * shown.length + 6}`, role: "img", "aria-hidden": "true", class: "bars",
  });
  shown.forEach((item, index) => {
    const y = index * row + 4;
    const length = Math.max(1, ((width - labelWidth - valueWidth) * Math.max(0, Number(item.value))) / max);
    svg.append(
      h("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end", class: "axis" }, item.label),
      h("rect", { x: labelWidth, y, width: length, height: row - 10, rx: 3, fill: PALETTE[index % PALETTE.length] }),
      h("text", { x: labelWidth + length + 6, y: y + 17, class: "value" }, item.text),
    );
  });
  const values = Object.fromEntries(shown.map((item) => [item.key ?? item.label, item.value]));
  return figure(name, title, values, svg, shown.map((item) => [item.label, item.text]), ["", title], note);
}

/** Lines over periods: series [{name, label, points: [{x (period), value, text}]}]. */
export function lineChart(name, title, periods, series, { note, min = null, max = null } = {}) {
  const all = series.flatMap((line) => line.points.filter((point) => point.value !== null && point.value !== undefined));
  if (!all.length) return empty(name, title);
  const width = 460;
  const height = 200;
  const pad = { left: 40, right: 12, top: 10, bottom: 28 };
  const low = min ?? Math.min(...all.map((point) => Number(point.value)));
  const high = max ?? Math.max(...all.map((point) => Number(point.value)));
  const span = high - low || 1;
  const x = (index) => pad.left + (periods.length <= 1 ? 0 : (index * (width - pad.left - pad.right)) / (periods.length - 1));
  const y = (value) => pad.top + (height - pad.top - pad.bottom) * (1 - (Number(value) - low) / span);
  const svg = h("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-hidden": "true", class: "lines" });
  for (const tick of [low, (low + high) / 2, high]) {
    svg.append(
      h("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: "grid" }),
      h("text", { x: pad.left - 4, y: y(tick) + 4, "text-anchor": "end", class: "axis" }, Math.round(tick)),
    );
  }
  const step = Math.max(1, Math.ceil(periods.length / 6));
  periods.forEach((period, index) => {
    if (index % step === 0 || index === periods.length - 1) {
      svg.append(h("text", { x: x(index), y: height - 8, "text-anchor": "middle", class: "axis" }, period.slice(5)));
    }
  });
  series.forEach((line, index) => {
    const colour = PALETTE[index % PALETTE.length];
    const points = periods
      .map((period, i) => [i, line.points.find((point) => point.x === period)])
      .filter(([, point]) => point && point.value !== null && point.value !== undefined);
    svg.append(h("polyline", { points: points.map(([i, p]) => `${x(i)},${y(p.value)}`).join(" "), fill: "none", stroke: colour, "stroke-width": 2 }));
    for (const [i, point] of points) {
      svg.append(h("circle", { cx: x(i), cy: y(point.value), r: 3, fill: colour }, h("title", {}, `${line.label} ${point.x}: ${point.text}`)));
    }
  });
  const legend = h("p.legend", {}, series.map((line, index) =>
    h("span", {}, h("span.swatch", { "data-colour": index % PALETTE.length, "aria-hidden": "true" }), line.label)));
  const values = Object.fromEntries(series.map((line) => [line.name, Object.fromEntries(line.points.map((p) => [p.x, p.value]))]));
  const rows = periods.map((period) => [
    period,
    ...series.map((line) => line.points.find((point) => point.x === period)?.text ?? "—"),
  ]);
  return figure(name, title, values, h("div", {}, svg, legend), rows, ["Period", ...series.map((line) => line.label)], note);
}

/** Cohort retention heatmap: cohorts [{cohort, customers, months: [{offset, rate, customers}]}]. */
export function heatmap(name, title, cohorts, { note } = {}) {
  if (!cohorts.length) return empty(name, title);
  const offsets = Math.max(...cohorts.map((row) => Math.max(0, ...row.months.map((cell) => cell.offset)))) + 1;
  const table = h(
    "table.heatmap",
    { "data-heatmap": name },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Cohort"), h("th", { scope: "col" }, "Customers"),
      Array.from({ length: offsets }, (_, k) => h("th", { scope: "col" }, `M+${k}`)))),
    h("tbody", {}, cohorts.map((row) =>
      h("tr", {}, h("th", { scope: "row" }, row.cohort), h("td", {}, row.customers),
        Array.from({ length: offsets }, (_, k) => {
          const cell = row.months.find((month) => month.offset === k);
          if (!cell) return h("td.cell.none", {}, "");
          const rate = cell.rate === null ? 0 : Number(cell.rate);
          const level = Math.min(5, Math.ceil(rate * 5));
          return h(`td.cell.heat-${level}`, { "data-rate": cell.rate, title: `${cell.customers} of ${row.customers}` },
            `${Math.round(rate * 100)}%`);
        }))),
    ),
  );
  const values = Object.fromEntries(cohorts.map((row) => [row.cohort, Object.fromEntries(row.months.map((cell) => [cell.offset, cell.rate]))]));
  return h("figure.chart", { "data-chart": name, "data-values": JSON.stringify(values) },
    h("figcaption", {}, title), h("div.scroll", {}, table), note ? h("p.note", {}, note) : null);
}

/** A funnel: stages [{label, value}], each bar as wide as its share of the first stage. */
export function funnel(name, title, stages, { note } = {}) {
  const top = Number(stages[0]?.value) || 0;
  if (!stages.some((stage) => Number(stage.value) > 0)) return empty(name, title);
  const width = 440;
  const row = 34;
  const labelWidth = 200;
  const room = width - labelWidth - 50;
  const svg = h("svg", { viewBox: `0 0 ${width} ${row * stages.length}`, role: "img", "aria-hidden": "true", class: "funnel" });
  stages.forEach((stage, index) => {
    const share = top ? Number(stage.value) / top : 0;
    const length = Math.max(3, room * Math.min(1, share));
    const y = index * row + 2;
    svg.append(
      h("text", { x: labelWidth - 8, y: y + 19, "text-anchor": "end", class: "axis" }, stage.label),
      h("rect", { x: labelWidth + (room - length) / 2, y, width: length, height: row - 6, rx: 4, fill: PALETTE[index % PALETTE.length] }),
      h("text", { x: width - 4, y: y + 19, "text-anchor": "end", class: "value" }, String(stage.value)),
    );
  });
  const values = Object.fromEntries(stages.map((stage) => [stage.key, stage.value]));
  return figure(name, title, values, svg, stages.map((stage) => [stage.label, String(stage.value)]), ["Stage", "Count"], note);
}
