// The dashboard at /ui/: reads the operations API (/api/v1/) of the server that serves
// it and draws what it says. Any script error is shown on the page (#errors).
"use strict";

(function () {
  var errors = document.getElementById("errors");
  function showError(text) {
    errors.textContent += (errors.textContent ? "\n" : "") + text;
  }
  window.addEventListener("error", function (e) { showError("script error: " + e.message); });
  window.addEventListener("unhandledrejection", function (e) {
    showError("error: " + (e.reason && e.reason.message ? e.reason.message : e.reason));
  });

  var API = "../api/v1/";
  function getJSON(path) {
    return fetch(API + path, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (t) { throw new Error(path + ": " + r.status + " " + t.trim()); });
      }
      return r.json();
    });
  }

  function setText(id, s) { document.getElementById(id).textContent = s; }
  function cell(tr, s, cls) {
    var td = document.createElement("td");
    td.textContent = s == null ? "–" : String(s);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function clearRows(tbody) { while (tbody.firstChild) tbody.removeChild(tbody.firstChild); }
  function bytes(n) {
    if (n == null) return "–";
    var units = ["B", "kB", "MB", "GB", "TB"], i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)) + " " + units[i];
  }
  function percent(r) { return (r * 100).toFixed(1) + "%"; }

  // Tabs by the URL's fragment.
  function showTab() {
    var name = (location.hash || "#overview").slice(1);
    if (!document.getElementById(name)) name = "overview";
    document.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("on", t.id === name); });
    document.querySelectorAll("nav a").forEach(function (a) { a.classList.toggle("on", a.dataset.tab === name); });
  }
  window.addEventListener("hashchange", showTab);
  showTab();

  var samples = null;
  function windowName() {
    var on = document.querySelector("input[name=window]:checked");
    return on ? on.value : "seconds";
  }
  document.querySelectorAll("input[name=window]").forEach(function (i) {
    i.addEventListener("change", drawPlots);
  });

  function drawPlots() {
    if (!samples) return;
    var win = windowName();
    var rows = samples[win] || [];
    var per = win === "seconds" ? 1 : 60;
    var pts = function (f) { return rows.map(function (s) { return [s.t, f(s)]; }); };
    // The whole window, to the last sample (or now).
    var to = rows.length ? rows[rows.length - 1].t : Date.now() / 1000;
    var from = to - (win === "seconds" ? 600 : 3600) + per;
    ModgatePlot.lines(document.getElementById("plot-requests"), {
      title: "Requests/s", from: from, to: to,
      series: [{ name: "requests/s", color: "#2a9d8f", points: pts(function (s) { return s.requests / per; }) }]
    });
    ModgatePlot.lines(document.getElementById("plot-hits"), {
      title: "Hit ratio", unit: "%", max: 100, from: from, to: to,
      series: [{ name: "hits", color: "#264653", points: rows.filter(function (s) { return s.lookups > 0; })
        .map(function (s) { return [s.t, 100 * s.hits / s.lookups]; }) }]
    });
    ModgatePlot.lines(document.getElementById("plot-latency"), {
      title: "Latency", unit: " ms", from: from, to: to,
      series: [
        { name: "p50", color: "#e9c46a", points: pts(function (s) { return s.p50_ms; }) },
        { name: "p99", color: "#e76f51", points: pts(function (s) { return s.p99_ms; }) }
      ]
    });
    ModgatePlot.lines(document.getElementById("plot-errors"), {
      title: "Upstream errors", integer: true, from: from, to: to,
      series: [{ name: "errors", color: "#d62828", points: pts(function (s) { return s.upstream_errors; }) }]
    });
  }

  function renderSamples(s) {
    samples = s;
    var lastMinute = s.seconds.slice(-60);
    var req = lastMinute.reduce(function (a, x) { return a + x.requests; }, 0);
    setText("rps", lastMinute.length ? (req / lastMinute.length).toFixed(1) : "0");
    setText("hit-ratio", percent(s.hit_ratio));
    setText("hit-counts", s.hits + " hits of " + s.lookups + " lookups since start");
    var m = s.minutes.length ? s.minutes[s.minutes.length - 1] : null;
    setText("latency", m ? m.p50_ms + " / " + m.p99_ms + " ms" : "–");
    setText("upstream-errors", String(s.seconds.reduce(function (a, x) { return a + x.upstream_errors; }, 0)));
    drawPlots();
  }

  function renderStatus(st) {
    setText("replica", st.replica + " · modgate " + st.version + " · up " + Math.round(st.uptime_seconds) + " s");
    var tbody = document.querySelector("#upstreams tbody");
    clearRows(tbody);
    st.upstreams.forEach(function (u) {
      var tr = document.createElement("tr");
      cell(tr, u.upstream);
      cell(tr, u.kind);
      if (u.breaker_open) cell(tr, "breaker open", "state-bad");
      else if (u.rate_limited_for_ms > 0) cell(tr, "rate-limited for " + Math.ceil(u.rate_limited_for_ms / 1000) + " s", "state-warn");
      else cell(tr, "healthy", "state-ok");
      tbody.appendChild(tr);
    });
    var s = st.storage, box = document.getElementById("storage");
    box.textContent = "";
    var line = document.createElement("div");
    line.textContent = s.describe + ": " + s.state + (s.reason ? " (" + s.reason + ")" : "");
    line.className = s.state === "ready" ? "state-ok" : "state-bad";
    box.appendChild(line);
    if (s.bytes != null) {
      var use = document.createElement("div");
      var label = document.createElement("span");
      label.textContent = bytes(s.bytes) + " in " + s.entries + " entries" +
        (s.max_bytes ? " of " + bytes(s.max_bytes) + " (" + percent(s.bytes / s.max_bytes) + ") " : " (no max_bytes) ");
      use.appendChild(label);
      if (s.max_bytes) {
        var bar = document.createElement("span");
        bar.className = "bar";
        var fill = document.createElement("div");
        fill.style.width = Math.min(100, 100 * s.bytes / s.max_bytes) + "%";
        bar.appendChild(fill);
        use.appendChild(bar);
      }
      box.appendChild(use);
    }
    var r = document.getElementById("redis");
    if (!st.redis) {
      r.textContent = "No Redis: this server works alone.";
      r.className = "";
    } else {
      r.textContent = st.redis.url + ": " + (st.redis.up ? "up" : "down: this replica serves on its own") +
        (st.redis.replicas != null ? " · " + st.redis.replicas + " replicas listening" : "");
      r.className = st.redis.up ? "state-ok" : "state-bad";
    }
  }

  var catalogNext = null;
  function loadCatalog(more) {
    var prefix = document.getElementById("prefix").value.trim();
    var params = new URLSearchParams({ limit: 100, prefix: prefix });
    if (more && catalogNext) params.set("cursor", catalogNext);
    return getJSON("catalog?" + params.toString()).then(function (page) {
      var tbody = document.querySelector("#catalog-table tbody");
      if (!more) clearRows(tbody);
      page.modules.forEach(function (v) {
        var tr = document.createElement("tr");
        tr.className = "version";
        cell(tr, v.module);
        cell(tr, v.version);
        cell(tr, v.stored);
        cell(tr, v.upstream);
        cell(tr, bytes(v.zip_bytes), "num");
        cell(tr, bytes(v.mod_bytes), "num");
        var links = cell(tr, "");
        [[".info", v.info], [".mod", v.mod]].forEach(function (l, i) {
          if (i) links.appendChild(document.createTextNode(" "));
          var a = document.createElement("a");
          a.href = ".." + l[1];
          a.textContent = l[0];
          links.appendChild(a);
        });
        tbody.appendChild(tr);
      });
      catalogNext = page.next;
      document.getElementById("catalog-more").hidden = !page.next;
    });
  }
  document.getElementById("catalog-form").addEventListener("submit", function (e) {
    e.preventDefault();
    loadCatalog(false);
  });
  document.getElementById("catalog-more").addEventListener("click", function () { loadCatalog(true); });

  var refusals = [];
  function renderRefusals() {
    var f = document.getElementById("refusal-filter").value;
    var tbody = document.querySelector("#refusal-table tbody");
    clearRows(tbody);
    refusals.filter(function (r) { return f === "all" || String(r.status)[0] === f; }).forEach(function (r) {
      var tr = document.createElement("tr");
      tr.className = "refusal";
      cell(tr, r.at);
      cell(tr, r.status, "num");
      cell(tr, r.client);
      cell(tr, r.module);
      cell(tr, r.reason);
      tbody.appendChild(tr);
    });
  }
  document.getElementById("refusal-filter").addEventListener("change", renderRefusals);

  function refresh() {
    return Promise.all([
      getJSON("status").then(renderStatus),
      getJSON("samples").then(renderSamples),
      getJSON("refusals").then(function (r) { refusals = r; renderRefusals(); })
    ]);
  }

  Promise.all([refresh(), loadCatalog(false)]).then(function () {
    document.body.dataset.ready = "1";
  }, function (e) {
    showError(String(e && e.message ? e.message : e));
    document.body.dataset.ready = "1";
  });
  setInterval(function () { refresh().catch(function (e) { showError(String(e.message || e)); }); }, 5000);
})();
