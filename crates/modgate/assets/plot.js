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

  // Lanes over one time axis in `container` (emptied first), one band each:
  //   opts.lanes: [{name, color, spans: [[from, to, opacity?], ...]} or
  //                {name, color, steps: [[t, value], ...] (each value holds until the
  //                 next t), max (the band's top)}],
  //   opts.from, opts.to (the axis), opts.unit ("us" or "s": what the times are),
  //   opts.width, opts.laneHeight, opts.label (the names' width).
  // Each lane is a <g data-lane="NAME"> (for tests and styles).
  function lanes(container, opts) {
    while (container.firstChild) container.removeChild(container.firstChild);
    var w = opts.width || 1000, lh = opts.laneHeight || 26, label = opts.label || 210;
    var top = 4, bottom = 22, right = 10;
    var h = top + lh * opts.lanes.length + bottom;
    var svg = el("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, "class": "plot lanes", role: "img" }, container);
    var t0 = opts.from, t1 = opts.to > opts.from ? opts.to : opts.from + 1;
    var x = function (t) { return label + (t - t0) / (t1 - t0) * (w - label - right); };
    opts.lanes.forEach(function (lane, i) {
      var g = el("g", { "data-lane": lane.name, "class": "lane" }, svg);
      var y0 = top + i * lh;
      el("rect", { x: label, y: y0, width: w - label - right, height: lh - 2, "class": "lane-bg" }, g);
      var name = el("text", { x: label - 6, y: y0 + lh / 2 + 3, "text-anchor": "end", "class": "lane-name" }, g);
      name.textContent = lane.title || lane.name;
      (lane.spans || []).forEach(function (s) {
        var a = x(s[0]), b = Math.max(x(s[1]), a + 1);
        el("rect", {
          x: a.toFixed(1), y: y0 + 2, width: (b - a).toFixed(1), height: lh - 6, fill: lane.color,
          "fill-opacity": s.length > 2 ? s[2] : 1, "shape-rendering": "crispEdges", "class": "span"
        }, g);
      });
      if (lane.steps && lane.steps.length) {
        var max = lane.max || Math.max.apply(null, lane.steps.map(function (p) { return p[1]; })) || 1;
        var yv = function (v) { return y0 + lh - 4 - Math.min(v, max) / max * (lh - 6); };
        var d = "M" + x(lane.steps[0][0]).toFixed(1) + "," + yv(0).toFixed(1);
        lane.steps.forEach(function (p, j) {
          var next = j + 1 < lane.steps.length ? lane.steps[j + 1][0] : t1;
          d += "L" + x(p[0]).toFixed(1) + "," + yv(p[1]).toFixed(1) +
            "L" + x(next).toFixed(1) + "," + yv(p[1]).toFixed(1);
        });
        d += "L" + x(t1).toFixed(1) + "," + yv(0).toFixed(1) + "Z";
        el("path", { d: d, fill: lane.color, "shape-rendering": "crispEdges", "class": "steps" }, g);
        name.textContent += " (max " + fmtNumber(max) + (lane.unit || "") + ")";
      }
    });
    var ax = top + lh * opts.lanes.length + 14;
    var scale = opts.unit === "us" ? 1e6 : 1;
    for (var k = 0; k <= 4; k++) {
      var t = t0 + (t1 - t0) * k / 4;
      el("text", { x: x(t), y: ax, "text-anchor": k === 0 ? "start" : k === 4 ? "end" : "middle", "class": "tick" }, svg)
        .textContent = ((t - t0) / scale).toFixed(2) + " s";
    }
    return svg;
  }

  return { lines: lines, lanes: lanes, niceStep: niceStep, fmtNumber: fmtNumber };
})();
