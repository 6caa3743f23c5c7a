// Draws the dashboard's charts with uPlot from the JSON the server embeds,
// on a time axis fitted to the picked range, and writes each chart's points
// into a table next to it, so the numbers are readable without the canvas
// (and testable). Reloads the page while auto-refresh is on.
(function () {
  "use strict";
  var el = document.getElementById("portico-data");
  if (!el || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  var xs = data.series.map(function (p) { return Date.parse(p.time) / 1000; });
  var ms = function (ns) { return ns / 1e6; };
  // fixed writes a number with at most three significant decimals.
  var fixed = function (v) {
    if (v === null || v === undefined) { return "–"; }
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
  };
  var charts = [
    { id: "requests", title: "Requests per second", unit: " req/s", series: [["rate", function (p) { return p.rate; }]] },
    { id: "errors", title: "Error rate (%)", unit: " %", series: [["error rate", function (p) { return 100 * p.error_rate; }]] },
    { id: "latency", title: "Latency (ms)", unit: " ms", series: [
      ["p50", function (p) { return p.requests ? ms(p.p50_ns) : null; }],
      ["p95", function (p) { return p.requests ? ms(p.p95_ns) : null; }],
      ["p99", function (p) { return p.requests ? ms(p.p99_ns) : null; }]] },
    { id: "tokens", title: "Tokens", unit: "", series: [
      ["input", function (p) { return p.input_tokens; }],
      ["output", function (p) { return p.output_tokens; }]] }
  ];
  var colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"];
  var pending = charts.length;
  charts.forEach(function (c) {
    var box = document.getElementById("chart-" + c.id);
    if (!box) { return; }
    var cols = [xs];
    var series = [{}];
    c.series.forEach(function (s, i) {
      cols.push(data.series.map(s[1]));
      series.push({ label: s[0], stroke: colors[i % colors.length], width: 2, spanGaps: false,
        value: function (u, v) { return fixed(v) + c.unit; } });
    });
    var u = new uPlot({
      title: c.title, width: 560, height: 220, series: series,
      scales: { x: { time: true, range: function () { return [data.from, data.to]; } } },
      axes: [{}, { size: 60, values: function (u, vals) { return vals.map(fixed); } }],
      hooks: { ready: [function (u) {
        // The axis as drawn: it spans the picked range.
        box.setAttribute("data-from", String(Math.round(u.scales.x.min)));
        box.setAttribute("data-to", String(Math.round(u.scales.x.max)));
        if (--pending === 0) { document.body.setAttribute("data-charts", "ready"); }
      }] }
    }, cols, box);
    var table = document.createElement("table");
    table.className = "points";
    table.setAttribute("data-chart", c.id);
    var head = "<tr><th>time</th>" + c.series.map(function (s) { return "<th>" + s[0] + "</th>"; }).join("") + "</tr>";
    var rows = "";
    var points = 0;
    for (var i = 0; i < u.data[0].length; i++) {
      if (!data.series[i].requests) { continue; }
      points++;
      rows += "<tr class=\"point\" data-time=\"" + data.series[i].time + "\"><td>" +
        new Date(data.series[i].time).toLocaleTimeString() + "</td>";
      for (var j = 1; j < u.data.length; j++) {
        rows += "<td>" + fixed(u.data[j][i]) + c.unit + "</td>";
      }
      rows += "</tr>";
    }
    table.innerHTML = head + rows;
    box.setAttribute("data-points", String(points));
    box.appendChild(table);
  });
  if (data.refresh > 0) {
    document.body.setAttribute("data-refresh", String(data.refresh));
    setTimeout(function () { location.reload(); }, data.refresh * 1000);
  }
})();
