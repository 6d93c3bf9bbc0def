// The statistics page's charts: each <script type="application/json" data-chart="CANVAS-ID"> holds one chart's
// {type, labels, datasets}, drawn by Chart.js on that canvas. Data, not code: the CSP allows no inline script.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (source) {
    var chart = JSON.parse(source.textContent);
    var canvas = document.getElementById(source.dataset.chart);
    var round = chart.type === "doughnut" || chart.type === "pie";
    new Chart(canvas, {
      type: chart.type,
      data: { labels: chart.labels, datasets: chart.datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: round ? {} : chart.scales || {},
      },
    });
  });
});
