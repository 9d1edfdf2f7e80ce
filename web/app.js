/* idnode console: resolve box, record view, prefix browser and a live
 * activity dashboard drawn as SVG from GET /api/stats. No dependencies. */
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var SVGNS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function authHeaders() {
    var t = sessionStorage.getItem("idnode-token");
    return t ? { Authorization: "Bearer " + t } : {};
  }
  function encodeId(id) {
    return id.split("/").map(encodeURIComponent).join("/");
  }

  /* ---- resolve and record view ---- */
  function showValue(v) {
    var d = v.data || {};
    if (d.format === "string" && v.type.toUpperCase() === "URL" &&
        /^https?:\/\//i.test(d.value)) {
      var a = el("a", { href: d.value, rel: "noopener" }, d.value);
      return a;
    }
    return document.createTextNode(typeof d.value === "string" ?
      d.value : JSON.stringify(d.value));
  }
  function resolve(id) {
    var box = $("record");
    box.textContent = "resolving " + id + " …";
    return fetch("/api/handles/" + encodeId(id), { headers: authHeaders() })
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (x) {
        var status = x[0], j = x[1];
        box.textContent = "";
        if (j.responseCode !== 1) {
          box.appendChild(el("p", { "class": "error", id: "record-error" },
            id + ": " + (j.responseCode === 100 ? "not found" :
              "response code " + j.responseCode + (j.message ? " (" + j.message + ")" : "")) +
            " [HTTP " + status + "]"));
          return;
        }
        box.appendChild(el("h1", { "class": "handle", id: "record-handle" }, j.handle));
        var t = el("table", { "class": "values", id: "record-values" });
        var hr = el("tr");
        ["index", "type", "data", "format", "ttl", "timestamp", "permissions"].forEach(function (h) {
          hr.appendChild(el("th", {}, h));
        });
        t.appendChild(hr);
        (j.values || []).forEach(function (v) {
          var tr = el("tr", { "data-index": v.index });
          tr.appendChild(el("td", {}, String(v.index)));
          tr.appendChild(el("td", {}, v.type));
          var td = el("td"); td.appendChild(showValue(v)); tr.appendChild(td);
          tr.appendChild(el("td", {}, (v.data || {}).format || ""));
          tr.appendChild(el("td", {}, String(v.ttl)));
          tr.appendChild(el("td", {}, v.timestamp || ""));
          tr.appendChild(el("td", {}, v.permissions || ""));
          t.appendChild(tr);
        });
        box.appendChild(t);
      })
      .catch(function (e) { box.textContent = "error: " + e; });
  }
  $("resolve-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = $("resolve-input").value.trim();
    if (id) { location.hash = "resolve=" + encodeURIComponent(id); resolve(id); }
  });

  /* ---- dashboard ---- */
  function lineChart(node, series, colors) {
    while (node.firstChild) node.removeChild(node.firstChild);
    var W = 600, H = 200, n = 0, max = 1;
    series.forEach(function (s) {
      n = Math.max(n, s.length);
      s.forEach(function (v) { if (v > max) max = v; });
    });
    for (var g = 1; g <= 3; g++) {
      var y = H - (H - 20) * g / 3;
      node.appendChild(svg("line", { x1: 0, x2: W, y1: y, y2: y, stroke: "#e6ebf0" }));
      var lab = svg("text", { x: 4, y: y - 2, "font-size": 10, fill: "#6b7a8a" });
      lab.textContent = Math.round(max * g / 3);
      node.appendChild(lab);
    }
    series.forEach(function (s, k) {
      if (s.length === 0) return;
      var pts = s.map(function (v, i) {
        var x = n > 1 ? i * W / (n - 1) : 0;
        return x.toFixed(1) + "," + (H - (H - 20) * v / max).toFixed(1);
      }).join(" ");
      node.appendChild(svg("polyline", { points: pts, fill: "none", stroke: colors[k],
        "stroke-width": 2, "class": "series", "data-points": s.length }));
    });
  }
  /* rows: {resolutions, registrations} and a label (label(row)); the
   * eight busiest are drawn, busiest first */
  function barChart(node, rows, label, left) {
    while (node.firstChild) node.removeChild(node.firstChild);
    var max = 1, x0 = left || 110, room = 520 - x0;
    rows = rows.slice().sort(function (a, b) {
      return (b.resolutions + b.registrations) - (a.resolutions + a.registrations);
    });
    rows.forEach(function (r) { max = Math.max(max, r.resolutions + r.registrations); });
    rows.slice(0, 8).forEach(function (r, i) {
      var y = 8 + i * 24, w1 = room * r.resolutions / max, w2 = room * r.registrations / max;
      var t = svg("text", { x: 4, y: y + 14, "font-size": 12, "class": "label" });
      t.textContent = label ? label(r) : r.prefix;
      node.appendChild(t);
      node.appendChild(svg("rect", { x: x0, y: y, width: w1, height: 18, fill: "#1f77b4", "class": "bar" }));
      node.appendChild(svg("rect", { x: x0 + w1, y: y, width: w2, height: 18, fill: "#2ca02c", "class": "bar" }));
      var c = svg("text", { x: x0 + 6 + w1 + w2, y: y + 14, "font-size": 11 });
      c.textContent = r.resolutions + " / " + r.registrations;
      node.appendChild(c);
    });
  }
  /* industry or region: bars plus, in data-trace, the total activity
   * seen at each of the last 20 updates (the test reads it) */
  function classChart(node, rows, label) {
    barChart(node, rows, label, 230);
    var total = 0;
    rows.forEach(function (r) { total += r.resolutions + r.registrations; });
    var trace = (node.getAttribute("data-trace") || "").split(",").filter(Boolean);
    trace.push(String(total));
    node.setAttribute("data-trace", trace.slice(-20).join(","));
  }
  function card(label, value) {
    var c = el("div", { "class": "card" });
    c.appendChild(el("b", {}, String(value)));
    c.appendChild(document.createTextNode(label));
    return c;
  }
  var updates = 0;
  function refresh() {
    return fetch("/api/stats", { headers: authHeaders() }).then(function (r) { return r.json(); }).then(function (s) {
      var t = s.totals, cards = $("cards");
      cards.textContent = "";
      cards.appendChild(card("resolutions", t.resolutions));
      cards.appendChild(card("registrations", t.registrations));
      cards.appendChild(card("not found", t.notFound));
      cards.appendChild(card("errors", t.errors));
      if (s.store) cards.appendChild(card("identifiers", s.store.identifiers));
      cards.appendChild(card("HTTP connections", s.httpConnections));
      var se = s.series;
      lineChart($("chart-rate"), [se.resolutions.slice(-120), se.registrations.slice(-120)],
        ["#1f77b4", "#2ca02c"]);
      lineChart($("chart-err"), [se.errors.slice(-120), se.notFound.slice(-120)],
        ["#d62728", "#ff7f0e"]);
      barChart($("chart-prefix"), s.prefixes);
      classChart($("chart-industry"), s.industries || [], function (r) {
        return r.code === "unknown" ? "no template" : r.code + " " + r.name;
      });
      classChart($("chart-region"), s.regions || [], function (r) {
        return r.code === "unknown" ? "unknown" : r.name;
      });
      var top = $("top");
      top.textContent = "";
      /* the node names the identifiers others resolved only to a client
       * with the admin token */
      if (!s.top) {
        top.appendChild(el("tr")).appendChild(el("td", { "class": "muted", id: "top-login" },
          "the most resolved identifiers need the admin token (below)"));
      } else {
        var h = el("tr"); h.appendChild(el("th", {}, "identifier")); h.appendChild(el("th", {}, "resolutions"));
        top.appendChild(h);
        s.top.forEach(function (e) {
          var tr = el("tr"), a = el("a", { href: "#resolve=" + encodeURIComponent(e.handle) }, e.handle);
          var td = el("td"); td.appendChild(a); tr.appendChild(td);
          tr.appendChild(el("td", {}, String(e.count)));
          top.appendChild(tr);
        });
      }
      updates++;
      var d = $("dashboard");
      d.setAttribute("data-updates", updates);
      d.setAttribute("data-series-length", se.resolutions.length);
      $("dash-status").textContent = "updated " + new Date(s.time * 1000).toISOString().slice(11, 19) + " UTC";
    }).catch(function (e) { $("dash-status").textContent = "stats unavailable: " + e; });
  }

  /* ---- prefixes ---- */
  function listHandles(prefix) {
    var out = $("handle-list");
    out.textContent = "loading …";
    fetch("/api/handles?prefix=" + encodeURIComponent(prefix) + "&pageSize=100", { headers: authHeaders() })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        out.textContent = "";
        if (j.responseCode !== 1) {
          out.appendChild(el("p", { "class": "error" }, j.message || ("response code " + j.responseCode)));
          return;
        }
        out.appendChild(el("p", {}, prefix + ": " + j.totalCount + " identifiers"));
        var ul = el("ul");
        j.handles.forEach(function (h) {
          var li = el("li"), a = el("a", { href: "#resolve=" + encodeURIComponent(h) }, h);
          li.appendChild(a); ul.appendChild(li);
        });
        out.appendChild(ul);
      });
  }
  function loadPrefixes() {
    fetch("/api/prefixes").then(function (r) { return r.json(); }).then(function (j) {
      var ul = $("prefix-list");
      ul.textContent = "";
      (j.prefixes || []).forEach(function (p) {
        var li = el("li"), a = el("a", { href: "#" }, p);
        a.addEventListener("click", function (ev) { ev.preventDefault(); listHandles(p); });
        li.appendChild(a); ul.appendChild(li);
      });
    });
    fetch("/api/site").then(function (r) { return r.json(); }).then(function (j) {
      var s = j.data && j.data.value;
      if (s && s.servers) $("site").textContent = s.servers.map(function (x) {
        return x.address + ":" + (x.interfaces[0] || {}).port; }).join(", ");
    });
  }
  $("token").value = sessionStorage.getItem("idnode-token") || "";
  $("token").addEventListener("change", function () {
    sessionStorage.setItem("idnode-token", $("token").value);
  });

  function fromHash() {
    var m = /^#resolve=(.+)$/.exec(location.hash);
    if (m) { var id = decodeURIComponent(m[1]); $("resolve-input").value = id; resolve(id); }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
  loadPrefixes();
  refresh();
  setInterval(refresh, 2000);
})();
