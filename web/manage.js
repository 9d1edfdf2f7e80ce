/* idnode console, the working views: prefix browsing with paging,
 * search, creating and editing identifiers (with a template's form) and
 * the template editor (the national template shape). Writes go through
 * the REST API (PUT/DELETE /api/handles) and the SNMS v5 template API as
 * the logged-in principal; the node checks every right. */
"use strict";
(function () {
  var IDN = window.IDN, t = IDN.t, el = IDN.el, $ = IDN.$, clear = IDN.clear, api = IDN.api;
  var PAGE = 50;

  function errText(x) {
    var j = x[1] || {};
    return j.message || (j.responseCode ? t("resolve.rc", j.responseCode) : t("err.http", x[0]));
  }

  /* ---- browse ---- */
  var browsing = { prefix: null, page: 0, pages: 0 };
  function loadPrefixes() {
    api("GET", "/api/prefixes").then(function (x) {
      var ul = $("prefix-list");
      clear(ul);
      ((x[1] || {}).prefixes || []).forEach(function (p) {
        var li = el("li"), a = el("a", { href: "#/browse=" + encodeURIComponent(p) }, p);
        li.appendChild(a);
        ul.appendChild(li);
      });
    });
  }
  function listHandles(prefix, page) {
    browsing.prefix = prefix;
    browsing.page = page;
    var ul = $("browse-handles");
    clear(ul);
    $("browse-count").textContent = "…";
    api("GET", "/api/handles?prefix=" + encodeURIComponent(prefix) + "&page=" + page +
        "&pageSize=" + PAGE).then(function (x) {
      var j = x[1] || {};
      if (x[0] === 401 || x[0] === 403) {
        $("browse-count").textContent = t("browse.login");
        return;
      }
      if (j.responseCode !== 1) {
        $("browse-count").textContent = errText(x);
        return;
      }
      var total = j.totalCount || 0;
      browsing.pages = Math.max(1, Math.ceil(total / PAGE));
      $("browse-count").textContent = t("browse.count", prefix, total);
      (j.handles || []).forEach(function (h) {
        var li = el("li");
        li.appendChild(el("a", { href: "#resolve=" + encodeURIComponent(h) }, h));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("a", { href: "#/edit=" + encodeURIComponent(h), "class": "small" },
          t("nav.edit")));
        ul.appendChild(li);
      });
      $("browse-page").textContent = t("browse.page", page + 1, browsing.pages);
      $("browse-prev").disabled = page <= 0;
      $("browse-next").disabled = page + 1 >= browsing.pages;
    });
  }
  $("browse-prev").addEventListener("click", function () {
    if (browsing.page > 0) listHandles(browsing.prefix, browsing.page - 1);
  });
  $("browse-next").addEventListener("click", function () {
    if (browsing.page + 1 < browsing.pages) listHandles(browsing.prefix, browsing.page + 1);
  });

  /* ---- search ---- */
  var cursor = null, shown = 0;
  function search(more) {
    var f = $("search-form"), q = [];
    ["type", "data", "prefix", "since", "until"].forEach(function (k) {
      var v = f[k].value.trim();
      if (v) q.push(k + "=" + encodeURIComponent(v));
    });
    q.push("pageSize=50");
    if (more && cursor) q.push("cursor=" + encodeURIComponent(cursor));
    var tb = $("search-results");
    if (!more) {
      clear(tb);
      shown = 0;
      var h = el("tr");
      h.appendChild(el("th", {}, t("dash.identifier")));
      h.appendChild(el("th", {}, t("search.created")));
      tb.appendChild(h);
    }
    api("GET", "/api/search?" + q.join("&")).then(function (x) {
      var j = x[1] || {};
      if (x[0] !== 200) {
        $("search-msg").textContent = errText(x);
        return;
      }
      (j.results || []).forEach(function (r) {
        var tr = el("tr"), td = el("td");
        td.appendChild(el("a", { href: "#resolve=" + encodeURIComponent(r.handle) }, r.handle));
        tr.appendChild(td);
        tr.appendChild(el("td", {}, r.created || ""));
        tb.appendChild(tr);
        shown++;
      });
      cursor = j.next || null;
      $("search-more").hidden = !cursor;
      $("search-msg").textContent = shown ? t("search.found", shown) : t("search.none");
    });
  }
  $("search-form").addEventListener("submit", function (ev) { ev.preventDefault(); search(false); });
  $("search-more").addEventListener("click", function () { search(true); });

  /* ---- templates (the national shape) ---- */
  var templates = [];
  function prefixOf(id) { var i = id.indexOf("/"); return i > 0 ? id.slice(0, i) : id; }
  /* the templates of a prefix in the national shape: the list names
   * them (GET ?prefix=), each is then read whole (GET ?prefix=&version=) */
  function fetchTemplates(prefix) {
    var base = "/snms/api/v5/template?prefix=" + encodeURIComponent(prefix);
    return api("GET", base).then(function (x) {
      var list = x[1] && Array.isArray(x[1].data) ? x[1].data : [];
      return Promise.all(list.map(function (e) {
        return api("GET", base + "&version=" + encodeURIComponent(e.name)).then(function (y) {
          var d = y[1] && y[1].data;
          return d && d.items ? d : null;
        });
      }));
    }).then(function (all) {
      return all.filter(function (v) { return v; });
    }).catch(function () { return []; });
  }
  /* a template is named by its version, as records name it (index 1001) */
  function tplLabel(tp) { return String(tp.version || "?"); }
  function itemRow(it) {
    var tr = el("tr"), md = it.metadata || {};
    [["name", it.name || ""], ["idType", it.idType || ""], ["idIndex", it.idIndex || ""]].forEach(function (c) {
      var td = el("td"); td.appendChild(el("input", { name: c[0], value: c[1], size: c[0] === "idIndex" ? 5 : 12 }));
      tr.appendChild(td);
    });
    var req = el("input", { type: "checkbox", name: "required" });
    req.checked = !!it.required;
    var tdr = el("td"); tdr.appendChild(req); tr.appendChild(tdr);
    [["type", md.type || "string", 8], ["minLength", md.minLength !== undefined ? md.minLength : "", 4],
     ["maxLength", md.maxLength !== undefined ? md.maxLength : "", 4]].forEach(function (c) {
      var td = el("td"); td.appendChild(el("input", { name: "m." + c[0], value: c[1], size: c[2] }));
      tr.appendChild(td);
    });
    var rm = el("button", { type: "button" }, t("edit.remove"));
    rm.addEventListener("click", function () { tr.parentNode.removeChild(tr); });
    var tdb = el("td"); tdb.appendChild(rm); tr.appendChild(tdb);
    return tr;
  }
  var TPL_FIELDS = ["version", "description", "type", "industryCategory", "industrySpecific",
    "industryTrade", "industrySubclass"];
  function editTemplate(tp) {
    var f = $("tpl-form");
    TPL_FIELDS.forEach(function (k) { f[k].value = tp[k] !== undefined ? tp[k] : ""; });
    var body = $("tpl-items").tBodies[0];
    clear(body);
    (tp.items || []).forEach(function (it) { body.appendChild(itemRow(it)); });
  }
  function listTemplates() {
    var prefix = $("tpl-prefix").value.trim(), tb = $("tpl-list");
    clear(tb);
    if (!prefix) return;
    fetchTemplates(prefix).then(function (list) {
      templates = list;
      if (!list.length) {
        tb.appendChild(el("tr")).appendChild(el("td", { "class": "muted" }, t("tpl.none", prefix)));
        return;
      }
      var h = el("tr");
      [t("tpl.version"), t("tpl.description"), t("tpl.category"), t("tpl.items"), ""].forEach(function (s) {
        h.appendChild(el("th", {}, s));
      });
      tb.appendChild(h);
      list.forEach(function (tp) {
        var tr = el("tr", { "data-version": tp.version });
        tr.appendChild(el("td", {}, String(tp.version || "")));
        tr.appendChild(el("td", {}, tp.description || ""));
        tr.appendChild(el("td", {}, [tp.industryCategory, tp.industrySpecific, tp.industryTrade,
          tp.industrySubclass].filter(Boolean).join("/")));
        tr.appendChild(el("td", {}, String((tp.items || []).length)));
        var b = el("button", { type: "button" }, t("tpl.edit"));
        b.addEventListener("click", function () { editTemplate(tp); });
        var td = el("td"); td.appendChild(b); tr.appendChild(td);
        tb.appendChild(tr);
      });
    });
  }
  $("tpl-load").addEventListener("submit", function (ev) { ev.preventDefault(); listTemplates(); });
  $("tpl-add").addEventListener("click", function () {
    $("tpl-items").tBodies[0].appendChild(itemRow({ required: false }));
  });
  $("tpl-save").addEventListener("click", function () {
    var f = $("tpl-form"), prefix = $("tpl-prefix").value.trim();
    var tp = { prefix: prefix, items: [] };
    TPL_FIELDS.forEach(function (k) { if (f[k].value.trim()) tp[k] = f[k].value.trim(); });
    if (tp.type !== undefined && /^[0-9]+$/.test(tp.type)) tp.type = parseInt(tp.type, 10);
    var rows = $("tpl-items").tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var q = function (n) { return rows[i].querySelector("[name='" + n + "']"); };
      var it = { name: q("name").value.trim(), idType: q("idType").value.trim(),
        idIndex: parseInt(q("idIndex").value, 10), required: q("required").checked,
        metadata: { type: q("m.type").value.trim() || "string" } };
      var mn = parseInt(q("m.minLength").value, 10), mx = parseInt(q("m.maxLength").value, 10);
      if (!isNaN(mn)) it.metadata.minLength = mn;
      if (!isNaN(mx)) it.metadata.maxLength = mx;
      tp.items.push(it);
    }
    if (!IDN.token()) { $("tpl-msg").textContent = t("edit.needlogin"); return; }
    var exists = templates.some(function (x) { return String(x.version) === String(tp.version); });
    $("tpl-msg").setAttribute("data-state", "saving");
    api(exists ? "PUT" : "POST", "/snms/api/v5/template", tp).then(function (x) {
      var j = x[1] || {};
      var ok = x[0] < 300 && (j.status === undefined || j.status === 1);
      $("tpl-msg").textContent = ok ? t("tpl.saved") : t("edit.failed", errText(x));
      $("tpl-msg").setAttribute("data-state", ok ? "saved" : "failed");
      if (ok) listTemplates();
    });
  });

  /* ---- create and edit ---- */
  var loaded = null; /* the record as loaded: {handle, values} */
  /* the edit view's message and its state (new, loaded, saving, saved,
   * deleted, failed), which the console's tests wait on */
  function say(text, state) {
    $("edit-msg").textContent = text;
    $("edit-msg").setAttribute("data-state", state);
  }
  function valueRow(v) {
    var tr = el("tr");
    var d = v.data || {};
    var data = typeof d.value === "string" ? d.value : d.value !== undefined ? JSON.stringify(d.value) : "";
    [["index", String(v.index || ""), 5], ["type", v.type || "", 14], ["data", data, 50]].forEach(function (c) {
      var td = el("td"); td.appendChild(el("input", { name: c[0], value: c[1], size: c[2] }));
      tr.appendChild(td);
    });
    if (d.format && d.format !== "string") tr.setAttribute("data-format", d.format);
    if (d.format && d.format !== "string") tr.setAttribute("data-raw", JSON.stringify(d));
    var rm = el("button", { type: "button" }, t("edit.remove"));
    rm.addEventListener("click", function () { tr.parentNode.removeChild(tr); });
    var td = el("td"); td.appendChild(rm); tr.appendChild(td);
    return tr;
  }
  function currentTemplate() {
    var name = $("edit-template").value;
    for (var i = 0; i < templates.length; i++) if (tplLabel(templates[i]) === name) return templates[i];
    return null;
  }
  /* the chosen template's items as labelled fields (filled from values) */
  function drawTemplateFields(values) {
    var fs = $("edit-tpl-fields"), tp = currentTemplate();
    var legend = fs.querySelector("legend");
    clear(fs);
    fs.appendChild(legend);
    fs.hidden = !tp;
    if (!tp) return;
    (tp.items || []).forEach(function (it) {
      var md = it.metadata || {};
      var lab = el("label", { "class": "tplf" });
      lab.appendChild(el("span", {}, it.name + (it.required ? " *" : "") + " (" + it.idIndex + ")"));
      var inp = el("input", { id: "tplf-" + it.idIndex, "data-index": it.idIndex,
        "data-type": it.idType || "", "data-name": it.name, size: 40 });
      if (it.required) inp.setAttribute("required", "");
      if (md.minLength !== undefined) inp.setAttribute("minlength", md.minLength);
      if (md.maxLength !== undefined) inp.setAttribute("maxlength", md.maxLength);
      (values || []).forEach(function (v) {
        if (v.index === it.idIndex && v.data) inp.value = typeof v.data.value === "string" ? v.data.value : "";
      });
      lab.appendChild(inp);
      fs.appendChild(lab);
    });
  }
  function loadTemplatesFor(id, selected) {
    var sel = $("edit-template");
    return fetchTemplates(prefixOf(id)).then(function (list) {
      templates = list;
      while (sel.options.length > 1) sel.remove(1);
      list.forEach(function (tp) { sel.appendChild(el("option", { value: tplLabel(tp) }, tplLabel(tp))); });
      sel.value = selected || "";
    });
  }
  function fillValues(values, skip) {
    var body = $("edit-values").tBodies[0];
    clear(body);
    values.forEach(function (v) { if (!skip[v.index]) body.appendChild(valueRow(v)); });
  }
  function loadRecord(id, done) {
    $("edit-id").value = id;
    loaded = null;
    api("GET", "/api/handles/" + IDN.encodeId(id)).then(function (x) {
      var j = x[1] || {}, values = j.responseCode === 1 ? j.values || [] : [];
      if (j.responseCode === 1) loaded = j;
      var ref = null;
      values.forEach(function (v) {
        if (v.index === 1001 && /^template$/i.test(v.type) && v.data) ref = v.data.value;
      });
      return loadTemplatesFor(id, null).then(function () {
        var tp = null;
        templates.forEach(function (x2) {
          var v = tplLabel(x2);
          if (ref && (ref === v || String(ref).indexOf(v + "@") === 0)) tp = x2;
        });
        $("edit-template").value = tp ? tplLabel(tp) : "";
        drawTemplateFields(values);
        var skip = {};
        if (tp) {
          skip[1001] = true;
          (tp.items || []).forEach(function (it) { skip[it.idIndex] = true; });
        }
        fillValues(values, skip);
        say(done ? done : loaded ? t("edit.loaded", id, values.length) : t("edit.new", id),
          done ? "saved" : loaded ? "loaded" : "new");
      });
    });
  }
  function collect() {
    var values = [], msg = null, tp = currentTemplate();
    var fields = $("edit-tpl-fields").querySelectorAll("input[data-index]");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i], v = f.value.trim();
      if (!v) {
        if (f.hasAttribute("required")) msg = t("edit.required", f.getAttribute("data-name"));
        continue;
      }
      values.push({ index: parseInt(f.getAttribute("data-index"), 10),
        type: f.getAttribute("data-type") || "string", data: { format: "string", value: v } });
    }
    var rows = $("edit-values").tBodies[0].rows;
    for (var k = 0; k < rows.length; k++) {
      var q = function (n) { return rows[k].querySelector("[name='" + n + "']").value.trim(); };
      var idx = parseInt(q("index"), 10), type = q("type");
      if (isNaN(idx) || !type) continue;
      var raw = rows[k].getAttribute("data-raw"), data = raw ? JSON.parse(raw) : { format: "string", value: q("data") };
      values.push({ index: idx, type: type, data: data });
    }
    if (tp) values.push({ index: 1001, type: "TEMPLATE", data: { format: "string", value: tplLabel(tp) } });
    /* a new record names the account's admin (HS_ADMIN at 100), or the
     * account could not change what it created: rights come from the
     * record's own HS_ADMIN values */
    var adm = IDN.admin ? IDN.admin() : null, m = adm ? /^(\d+):(.+)$/.exec(adm) : null;
    var hasAdmin = values.some(function (v) { return /^HS_ADMIN$/i.test(v.type); });
    if (!loaded && m && !hasAdmin && !values.some(function (v) { return v.index === 100; }))
      values.push({ index: 100, type: "HS_ADMIN", data: { format: "admin",
        value: { handle: m[2], index: parseInt(m[1], 10), permissions: "111111111111" } } });
    values.sort(function (a, b) { return a.index - b.index; });
    return { values: values, msg: msg };
  }
  $("edit-load").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = $("edit-id").value.trim();
    if (id) location.hash = "#/edit=" + encodeURIComponent(id);
  });
  $("edit-template").addEventListener("change", function () {
    drawTemplateFields(loaded ? loaded.values : []);
  });
  $("edit-add").addEventListener("click", function () {
    $("edit-values").tBodies[0].appendChild(valueRow({ index: "", type: "", data: { value: "" } }));
  });
  $("edit-save").addEventListener("click", function () {
    var id = $("edit-id").value.trim();
    if (!id) { say(t("edit.needid"), "failed"); return; }
    if (!IDN.token()) { say(t("edit.needlogin"), "failed"); return; }
    var c = collect();
    if (c.msg) { say(c.msg, "failed"); return; }
    var path = "/api/handles/" + IDN.encodeId(id) + (loaded ? "?overwrite=true" : "");
    say("…", "saving");
    api("PUT", path, { values: c.values }).then(function (x) {
      var j = x[1] || {};
      if (x[0] < 300 && (j.responseCode === undefined || j.responseCode === 1)) {
        loadRecord(id, t("edit.saved", id));
      } else {
        say(t("edit.failed", errText(x)), "failed");
      }
    });
  });
  $("edit-delete").addEventListener("click", function () {
    var id = $("edit-id").value.trim();
    if (!id) { say(t("edit.needid"), "failed"); return; }
    if (!window.confirm(t("edit.confirm", id))) return;
    api("DELETE", "/api/handles/" + IDN.encodeId(id)).then(function (x) {
      var j = x[1] || {};
      if (x[0] < 300 && (j.responseCode === undefined || j.responseCode === 1)) {
        loaded = null;
        fillValues([], {});
        say(t("edit.deleted", id), "deleted");
      } else {
        say(t("edit.failed", errText(x)), "failed");
      }
    });
  });

  IDN.onView = function (view) {
    if (view === "browse") loadPrefixes();
  };
  IDN.onViewArg = function (view, arg) {
    if (view === "browse") listHandles(arg, 0);
    if (view === "edit") loadRecord(arg);
  };
  IDN.start();
})();
