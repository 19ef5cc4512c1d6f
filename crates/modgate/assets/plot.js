// modgate's plots, drawn as SVG in the page (no charting library, nothing fetched):
// used by the dashboard at /ui/ and by `modgate trace --html`.
"use strict";
var ModgatePlot = (function () {
  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // A step of 1, 2 or 5 times a power of ten giving about `n` ticks up to `max`.
  function niceStep(max, n) {
    if (!(max > 0)) return 1;
    var raw = max / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function fmtNumber(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + "M";
    if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + "k";
    if (v === Math.round(v)) return String(v);
    return v.toPrecision(2);
  }

  // Lines over time in `container` (emptied first):
  //   opts.series: [{name, color, points: [[t (seconds), y], ...]}]
  //   opts.title, opts.unit (after each y label), opts.max (a fixed top, e.g. 100 for %),
  //   opts.integer (steps of whole numbers: counts), opts.from and opts.to (the time
  //   axis, seconds; else the points' extent), opts.width, opts.height.
  function lines(container, opts) {
    while (container.firstChild) container.removeChild(container.firstChild);
    var w = opts.width || 520, h = opts.height || 180;
    var left = 46, right = 10, top = 22, bottom = 22;
    var svg = el("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, "class": "plot", role: "img" }, container);
    el("title", {}, svg).textContent = opts.title || "";
    var t0 = Infinity, t1 = -Infinity, ymax = 0;
    opts.series.forEach(function (s) {
      s.points.forEach(function (p) {
        if (p[0] < t0) t0 = p[0];
        if (p[0] > t1) t1 = p[0];
        if (p[1] > ymax) ymax = p[1];
      });
    });
    if (opts.from != null) t0 = opts.from;
    if (opts.to != null) t1 = opts.to;
    if (!isFinite(t0)) { t0 = 0; t1 = 1; }
    if (t1 === t0) t1 = t0 + 1;
    var top_ = opts.max || 0;
    var step = niceStep(Math.max(ymax, top_ || 0) || 1, 4);
    if (opts.integer) step = Math.max(1, Math.round(step));
    var yTop = top_ || Math.max(step, Math.ceil(ymax / step) * step);
    var x = function (t) { return left + (t - t0) / (t1 - t0) * (w - left - right); };
    var y = function (v) { return top + (1 - v / yTop) * (h - top - bottom); };
    el("text", { x: left, y: 14, "class": "plot-title" }, svg).textContent = opts.title || "";
    for (var v = 0; v <= yTop + 1e-9; v += step) {
      el("line", { x1: left, x2: w - right, y1: y(v), y2: y(v), "class": "grid" }, svg);
      el("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end", "class": "tick" }, svg)
        .textContent = fmtNumber(v) + (opts.unit || "");
    }
    [t0, (t0 + t1) / 2, t1].forEach(function (t, i) {
      var d = new Date(t * 1000);
      el("text", { x: x(t), y: h - 6, "text-anchor": ["start", "middle", "end"][i], "class": "tick" }, svg)
        .textContent = d.toISOString().substr(11, 8);
    });
    opts.series.forEach(function (s, i) {
      var pts = s.points.filter(function (p) { return p[0] >= t0 && p[0] <= t1; }).map(function (p) { return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1); });
      if (pts.length === 1) {
        var xy = pts[0].split(",");
        pts.push((parseFloat(xy[0]) + 3).toFixed(1) + "," + xy[1]);
      }
      el("polyline", {
        points: pts.join(" "), fill: "none", stroke: s.color, "stroke-width": 2,
        "shape-rendering": "crispEdges", "class": "line", "data-name": s.name
      }, svg);
      var lx = w - right - 110 * (opts.series.length - i);
      el("rect", { x: lx, y: 6, width: 10, height: 10, fill: s.color }, svg);
      el("text", { x: lx + 14, y: 15, "class": "legend" }, svg).textContent = s.name;
    });
    return svg;
  }

  return { lines: lines, niceStep: niceStep, fmtNumber: fmtNumber };
})();
