/* idnode console, core: helpers, login, the views and their routing
 * (#/view, #resolve=ID), the resolve box and the live activity dashboard
 * drawn as SVG from GET /api/stats. No dependencies. manage.js adds
 * browsing, search, editing and templates. */
"use strict";
(function () {
  var IDN = window.IDN, t = IDN.t;
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
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  /* ---- who is logged in: a bearer token in this tab only ---- */
  function token() { return sessionStorage.getItem("idnode-token"); }
  function authHeaders(extra) {
    var h = extra || {}, tk = token();
    if (tk) h.Authorization = "Bearer " + tk;
    return h;
  }
  function showWho() {
    var user = sessionStorage.getItem("idnode-user"), tk = token();
    $("who").textContent = !tk ? "" : user ? t("who.account", user) : t("who.token");
    $("login-link").hidden = !!tk;
    $("logout").hidden = !tk;
  }
  /* admin: "INDEX:HANDLE", the admin an account acts as */
  function setLogin(tk, user, admin) {
    if (tk) sessionStorage.setItem("idnode-token", tk);
    else sessionStorage.removeItem("idnode-token");
    if (user) sessionStorage.setItem("idnode-user", user);
    else sessionStorage.removeItem("idnode-user");
    if (admin) sessionStorage.setItem("idnode-admin", admin);
    else sessionStorage.removeItem("idnode-admin");
    showWho();
  }
  IDN.admin = function () { return sessionStorage.getItem("idnode-admin"); };
  /* fetch as JSON: resolves to [status, body or null] */
  function api(method, path, body) {
    var opt = { method: method, headers: authHeaders() };
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    return fetch(path, opt).then(function (r) {
      return r.text().then(function (txt) {
        var j = null;
        try { j = txt ? JSON.parse(txt) : null; } catch (e) { j = null; }
        return [r.status, j];
      });
    });
  }
  function encodeId(id) { return id.split("/").map(encodeURIComponent).join("/"); }

  IDN.el = el; IDN.$ = $; IDN.clear = clear; IDN.api = api;
  IDN.encodeId = encodeId; IDN.token = token; IDN.authHeaders = authHeaders;

  /* ---- views ---- */
  var views = ["resolve", "dashboard", "browse", "search", "edit", "templates", "login"];
  function show(view) {
    if (views.indexOf(view) < 0) view = "dashboard";
    var secs = document.querySelectorAll("section[data-view]");
    for (var i = 0; i < secs.length; i++)
      secs[i].hidden = secs[i].getAttribute("data-view") !== view;
    var links = document.querySelectorAll("#nav a");
    for (var j = 0; j < links.length; j++)
      links[j].className = links[j].getAttribute("data-nav") === view ? "on" : "";
    document.body.setAttribute("data-view", view);
    if (IDN.onView) IDN.onView(view);
  }

  /* ---- resolve and record view ---- */
  function showValue(v) {
    var d = v.data || {};
    if (d.format === "string" && v.type.toUpperCase() === "URL" &&
        /^https?:\/\//i.test(d.value))
      return el("a", { href: d.value, rel: "noopener" }, d.value);
    return document.createTextNode(typeof d.value === "string" ?
      d.value : JSON.stringify(d.value));
  }
  function resolve(id) {
    var box = $("record");
    box.textContent = t("resolve.busy", id);
    return api("GET", "/api/handles/" + encodeId(id)).then(function (x) {
      var status = x[0], j = x[1] || {};
      clear(box);
      if (j.responseCode !== 1) {
        box.appendChild(el("p", { "class": "error", id: "record-error" },
          id + ": " + (j.responseCode === 100 ? t("resolve.notfound") :
            t("resolve.rc", j.responseCode) + (j.message ? " (" + j.message + ")" : "")) +
          " [" + t("err.http", status) + "]"));
        return;
      }
      box.appendChild(el("h1", { "class": "handle", id: "record-handle" }, j.handle));
      var tb = el("table", { "class": "values", id: "record-values" });
      var hr = el("tr");
      ["v.index", "v.type", "v.data", "v.format", "v.ttl", "v.timestamp", "v.permissions"]
        .forEach(function (h) { hr.appendChild(el("th", {}, t(h))); });
      tb.appendChild(hr);
      (j.values || []).forEach(function (v) {
        var tr = el("tr", { "data-index": v.index });
        tr.appendChild(el("td", {}, String(v.index)));
        tr.appendChild(el("td", {}, v.type));
        var td = el("td"); td.appendChild(showValue(v)); tr.appendChild(td);
        tr.appendChild(el("td", {}, (v.data || {}).format || ""));
        tr.appendChild(el("td", {}, String(v.ttl)));
        tr.appendChild(el("td", {}, v.timestamp || ""));
        tr.appendChild(el("td", {}, v.permissions || ""));
        tb.appendChild(tr);
      });
      box.appendChild(tb);
    }).catch(function (e) { box.textContent = String(e); });
  }
  $("resolve-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = $("resolve-input").value.trim();
    if (id) location.hash = "resolve=" + encodeURIComponent(id);
  });

  /* ---- dashboard ---- */
  function lineChart(node, series, colors) {
    clear(node);
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
  /* A label in at most room pixels: shortened with an ellipsis when it
   * does not fit, the whole text in its tooltip. */
  function fitLabel(node, text, room) {
    node.textContent = text;
    var title = svg("title", {});
    title.textContent = text;
    if (typeof node.getComputedTextLength !== "function") return;
    var s = text;
    while (s.length > 1 && node.getComputedTextLength() > room) {
      s = s.slice(0, -1);
      node.textContent = s + "…";
    }
    node.appendChild(title);
  }
  /* rows: {resolutions, registrations} and a label (label(row)); the
   * eight busiest are drawn, busiest first */
  function barChart(node, rows, label, left) {
    clear(node);
    var max = 1, x0 = left || 150, room = 500 - x0;
    rows = rows.slice().sort(function (a, b) {
      return (b.resolutions + b.registrations) - (a.resolutions + a.registrations);
    });
    rows.forEach(function (r) { max = Math.max(max, r.resolutions + r.registrations); });
    rows.slice(0, 8).forEach(function (r, i) {
      var y = 8 + i * 24, w1 = room * r.resolutions / max, w2 = room * r.registrations / max;
      var tx = svg("text", { x: 4, y: y + 14, "font-size": 12, "class": "label" });
      node.appendChild(tx);
      fitLabel(tx, label ? label(r) : r.prefix, x0 - 10);
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
  /* a mirror's sources, as idctl replication status shows them */
  function showReplication(rp) {
    var box = $("repl"), tb = $("repl-table");
    box.hidden = !rp;
    if (!rp) return;
    clear(tb);
    var h = el("tr");
    ["repl.source", "repl.state", "repl.applied", "repl.sourcetxn", "repl.lagtxns",
     "repl.lagms", "repl.reason"].forEach(function (k) { h.appendChild(el("th", {}, t(k))); });
    tb.appendChild(h);
    (rp.sources || []).forEach(function (src) {
      var tr = el("tr", { "data-state": src.state || "" });
      var state = src.state ? t("repl." + src.state) : "";
      [src.source, state, src.last_applied_txn, src.source_txn, src.lag_txns, src.lag_ms,
       src.reason || ""].forEach(function (v) {
        tr.appendChild(el("td", {}, v === undefined || v === null ? "" : String(v)));
      });
      tb.appendChild(tr);
    });
  }
  var updates = 0;
  function refresh() {
    return fetch("/api/stats", { headers: authHeaders() }).then(function (r) { return r.json(); }).then(function (s) {
      var tt = s.totals, cards = $("cards");
      clear(cards);
      cards.appendChild(card(t("dash.resolutions"), tt.resolutions));
      cards.appendChild(card(t("dash.registrations"), tt.registrations));
      cards.appendChild(card(t("dash.notfound"), tt.notFound));
      cards.appendChild(card(t("dash.err"), tt.errors));
      if (s.store) cards.appendChild(card(t("dash.identifiers"), s.store.identifiers));
      cards.appendChild(card(t("dash.http"), s.httpConnections));
      showReplication(s.replication);
      var se = s.series;
      lineChart($("chart-rate"), [se.resolutions.slice(-120), se.registrations.slice(-120)],
        ["#1f77b4", "#2ca02c"]);
      lineChart($("chart-err"), [se.errors.slice(-120), se.notFound.slice(-120)],
        ["#d62728", "#ff7f0e"]);
      barChart($("chart-prefix"), s.prefixes);
      classChart($("chart-industry"), s.industries || [], function (r) {
        return r.code === "unknown" ? t("dash.notemplate") : r.code + " " + r.name;
      });
      classChart($("chart-region"), s.regions || [], function (r) {
        return r.code === "unknown" ? t("dash.unknown") : r.name;
      });
      var top = $("top");
      clear(top);
      /* the node names the identifiers others resolved only to a client
       * that logged in */
      if (!s.top) {
        top.appendChild(el("tr")).appendChild(el("td", { "class": "muted", id: "top-login" },
          t("dash.toplogin")));
      } else {
        var h = el("tr");
        h.appendChild(el("th", {}, t("dash.identifier")));
        h.appendChild(el("th", {}, t("dash.resolutions")));
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
      $("dash-status").textContent = t("dash.updated",
        new Date(s.time * 1000).toISOString().slice(11, 19));
    }).catch(function (e) { $("dash-status").textContent = t("dash.unavailable", e); });
  }

  /* ---- login ---- */
  $("login-account").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target, user = f.username.value.trim();
    api("POST", "/identity/token", { username: user, password: f.password.value })
      .then(function (x) {
        var j = x[1] || {};
        if (j.status === 1 && j.data && j.data.token) {
          f.password.value = "";
          setLogin(j.data.token, user, j.data.admin);
          $("login-msg").textContent = t("login.ok");
          location.hash = "#/edit";
        } else {
          $("login-msg").textContent = t("login.failed", j.message || t("err.http", x[0]));
        }
      });
  });
  $("login-token").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var tk = $("token").value.trim();
    $("token").value = "";
    if (!tk) return;
    setLogin(tk, null, null);
    $("login-msg").textContent = t("login.ok");
    location.hash = "#/edit";
  });
  $("logout").addEventListener("click", function () {
    var user = sessionStorage.getItem("idnode-user");
    /* an account's token ends at the node too */
    var done = user ? api("DELETE", "/identity/token") : Promise.resolve();
    done.catch(function () {}).then(function () {
      setLogin(null, null, null);
      location.hash = "#/resolve";
    });
  });

  /* ---- site, language, routing ---- */
  function loadSite() {
    fetch("/api/site").then(function (r) { return r.json(); }).then(function (j) {
      var s = j.data && j.data.value;
      if (s && s.servers) $("site").textContent = s.servers.map(function (x) {
        return x.address + ":" + (x.interfaces[0] || {}).port; }).join(", ");
    }).catch(function () {});
  }
  function fromHash() {
    var h = location.hash, m = /^#resolve=(.+)$/.exec(h);
    if (m) {
      var id = decodeURIComponent(m[1]);
      $("resolve-input").value = id;
      show("resolve");
      resolve(id);
      return;
    }
    m = /^#\/([a-z]+)(?:=(.*))?$/.exec(h);
    show(m ? m[1] : "dashboard");
    if (m && m[2] !== undefined && IDN.onViewArg) IDN.onViewArg(m[1], decodeURIComponent(m[2]));
  }
  $("lang").value = IDN.lang;
  $("lang").addEventListener("change", function () { IDN.setLang($("lang").value); });
  IDN.onLang = function () { showWho(); refresh(); fromHash(); };
  IDN.applyLang();
  showWho();
  window.addEventListener("hashchange", fromHash);
  IDN.start = function () {
    fromHash();
    loadSite();
    refresh();
    setInterval(refresh, 2000);
  };
})();
