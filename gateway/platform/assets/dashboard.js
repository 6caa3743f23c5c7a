// Draws the dashboard's charts with uPlot from the JSON the server embeds,
// and writes each chart's points into a table next to it, so the numbers
// are readable without the canvas (and testable).
(function () {
  "use strict";
  var el = document.getElementById("portico-data");
  if (!el || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  var xs = data.series.map(function (p) { return Date.parse(p.time) / 1000; });
  var ms = function (ns) { return ns / 1e6; };
  var charts = [
    { id: "requests", title: "Requests per second", series: [["rate", function (p) { return p.rate; }]] },
    { id: "errors", title: "Error rate (%)", series: [["error rate", function (p) { return 100 * p.error_rate; }]] },
    { id: "latency", title: "Latency (ms)", series: [
      ["p50", function (p) { return ms(p.p50_ns); }],
      ["p95", function (p) { return ms(p.p95_ns); }],
      ["p99", function (p) { return ms(p.p99_ns); }]] },
    { id: "tokens", title: "Tokens", series: [
      ["input", function (p) { return p.input_tokens; }],
      ["output", function (p) { return p.output_tokens; }]] }
  ];
  var colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"];
  charts.forEach(function (c) {
    var box = document.getElementById("chart-" + c.id);
    if (!box) { return; }
    var cols = [xs];
    var series = [{}];
    c.series.forEach(function (s, i) {
      cols.push(data.series.map(s[1]));
      series.push({ label: s[0], stroke: colors[i % colors.length], width: 2 });
    });
    var u = new uPlot({ title: c.title, width: 560, height: 220, series: series }, cols, box);
    var table = document.createElement("table");
    table.className = "points";
    table.setAttribute("data-chart", c.id);
    var head = "<tr><th>time</th>" + c.series.map(function (s) { return "<th>" + s[0] + "</th>"; }).join("") + "</tr>";
    var rows = "";
    var points = 0;
    for (var i = 0; i < u.data[0].length; i++) {
      if (!data.series[i].requests) { continue; }
      points++;
      rows += "<tr class=\"point\" data-time=\"" + data.series[i].time + "\"><td>" + data.series[i].time + "</td>";
      for (var j = 1; j < u.data.length; j++) {
        rows += "<td>" + (Math.round(u.data[j][i] * 1000) / 1000) + "</td>";
      }
      rows += "</tr>";
    }
    table.innerHTML = head + rows;
    box.setAttribute("data-points", String(points));
    box.appendChild(table);
  });
  document.body.setAttribute("data-charts", "ready");
})();
