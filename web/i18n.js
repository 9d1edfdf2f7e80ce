/* idnode console: the interface in Chinese (zh-CN) and English. The
 * language is the browser's (navigator.languages) until the user picks one
 * with the switch, which is remembered. Elements carry data-i18n="key";
 * scripts ask IDN.t("key", args). */
"use strict";
var IDN = window.IDN || {};
window.IDN = IDN;
(function () {
  var dict = {
    en: {
      "title": "idnode console",
      "nav.resolve": "Resolve", "nav.dashboard": "Dashboard", "nav.browse": "Browse",
      "nav.search": "Search", "nav.edit": "Edit", "nav.templates": "Templates",
      "nav.login": "Log in", "nav.logout": "Log out",
      "who.account": "signed in as {0}", "who.token": "signed in with the admin token",
      "resolve.title": "Resolve", "resolve.go": "Resolve",
      "resolve.busy": "resolving {0} …", "resolve.notfound": "not found",
      "resolve.rc": "response code {0}",
      "v.index": "index", "v.type": "type", "v.data": "data", "v.format": "format",
      "v.ttl": "ttl", "v.timestamp": "timestamp", "v.permissions": "permissions",
      "dash.title": "Activity", "dash.rate": "Resolutions and registrations per second",
      "dash.errors": "Errors and not-found per second", "dash.byprefix": "By prefix (HTTP)",
      "dash.byindustry": "By industry (GB/T 4754 section of the template)",
      "dash.byregion": "By region (GB/T 2260 province of the prefix)",
      "dash.top": "Top identifiers (HTTP)", "dash.resolutions": "resolutions",
      "dash.registrations": "registrations", "dash.err": "errors", "dash.notfound": "not found",
      "dash.identifiers": "identifiers", "dash.http": "HTTP connections",
      "dash.updated": "updated {0} UTC", "dash.unavailable": "statistics unavailable: {0}",
      "dash.notemplate": "no template", "dash.unknown": "unknown",
      "dash.toplogin": "the most resolved identifiers need a login",
      "dash.identifier": "identifier",
      "dash.replication": "Replication: this node is a mirror",
      "repl.source": "source", "repl.state": "state", "repl.applied": "last applied",
      "repl.sourcetxn": "source at", "repl.lagtxns": "behind (changes)",
      "repl.lagms": "lag (ms)", "repl.reason": "reason",
      "repl.dumping": "copying", "repl.following": "following", "repl.behind": "behind",
      "repl.error": "error",
      "browse.title": "Prefixes", "browse.count": "{0}: {1} identifiers",
      "browse.page": "page {0} of {1}", "browse.login": "listing identifiers needs a login",
      "pager.prev": "Previous", "pager.next": "Next",
      "search.title": "Search", "search.type": "Value type", "search.data": "Value data",
      "search.prefix": "Prefix", "search.since": "Created since", "search.until": "Created until",
      "search.go": "Search", "search.more": "More", "search.found": "{0} shown",
      "search.created": "created", "search.none": "nothing found",
      "edit.title": "Create or edit an identifier", "edit.load": "Load",
      "edit.template": "Template", "edit.notemplate": "(none)",
      "edit.tplfields": "Template fields", "edit.add": "Add a value", "edit.save": "Save",
      "edit.delete": "Delete identifier", "edit.remove": "Remove",
      "edit.loaded": "{0}: {1} values loaded", "edit.new": "{0} does not exist yet: saving creates it",
      "edit.saved": "saved {0}", "edit.deleted": "deleted {0}",
      "edit.needid": "enter an identifier", "edit.needlogin": "log in first",
      "edit.confirm": "Delete {0} and all its values?", "edit.failed": "failed: {0}",
      "edit.required": "{0} is required",
      "tpl.title": "Templates", "tpl.prefix": "Prefix", "tpl.list": "List",
      "tpl.editor": "Template editor", "tpl.name": "Name", "tpl.version": "Version (product model)",
      "tpl.description": "Description", "tpl.items": "items",
      "tpl.type": "Kind", "tpl.category": "Industry category", "tpl.specific": "Industry specific",
      "tpl.trade": "Industry trade", "tpl.subclass": "Industry subclass",
      "tpl.iname": "name", "tpl.idtype": "type", "tpl.idindex": "index", "tpl.required": "required",
      "tpl.mtype": "data type", "tpl.min": "min length", "tpl.max": "max length",
      "tpl.additem": "Add an item", "tpl.save": "Save template", "tpl.saved": "template saved",
      "tpl.edit": "Edit", "tpl.none": "no templates under {0}", "tpl.status": "status",
      "login.title": "Log in", "login.user": "Account", "login.password": "Password",
      "login.go": "Log in", "login.token": "Or the node's admin token", "login.usetoken": "Use the token",
      "login.ok": "logged in", "login.failed": "login failed: {0}",
      "err.http": "HTTP {0}"
    },
    "zh-CN": {
      "title": "idnode 管理控制台",
      "nav.resolve": "解析", "nav.dashboard": "仪表盘", "nav.browse": "浏览",
      "nav.search": "检索", "nav.edit": "编辑", "nav.templates": "模板",
      "nav.login": "登录", "nav.logout": "退出",
      "who.account": "已登录：{0}", "who.token": "已使用管理令牌登录",
      "resolve.title": "标识解析", "resolve.go": "解析",
      "resolve.busy": "正在解析 {0} …", "resolve.notfound": "未找到",
      "resolve.rc": "响应码 {0}",
      "v.index": "索引", "v.type": "类型", "v.data": "数据", "v.format": "格式",
      "v.ttl": "生存期", "v.timestamp": "时间戳", "v.permissions": "权限",
      "dash.title": "运行情况", "dash.rate": "每秒解析与注册次数",
      "dash.errors": "每秒错误与未找到次数", "dash.byprefix": "按前缀（HTTP）",
      "dash.byindustry": "按行业（模板的 GB/T 4754 门类）",
      "dash.byregion": "按地区（前缀的 GB/T 2260 省份）",
      "dash.top": "解析最多的标识（HTTP）", "dash.resolutions": "解析",
      "dash.registrations": "注册", "dash.err": "错误", "dash.notfound": "未找到",
      "dash.identifiers": "标识总数", "dash.http": "HTTP 连接",
      "dash.updated": "更新于 {0} UTC", "dash.unavailable": "统计不可用：{0}",
      "dash.notemplate": "无模板", "dash.unknown": "未知",
      "dash.toplogin": "登录后可查看解析最多的标识",
      "dash.identifier": "标识",
      "dash.replication": "复制：本节点是镜像",
      "repl.source": "源", "repl.state": "状态", "repl.applied": "已应用至",
      "repl.sourcetxn": "源端位置", "repl.lagtxns": "落后（变更数）",
      "repl.lagms": "延迟（毫秒）", "repl.reason": "原因",
      "repl.dumping": "复制全量", "repl.following": "跟随中", "repl.behind": "落后",
      "repl.error": "错误",
      "browse.title": "前缀", "browse.count": "{0}：共 {1} 个标识",
      "browse.page": "第 {0} 页，共 {1} 页", "browse.login": "列出标识需要先登录",
      "pager.prev": "上一页", "pager.next": "下一页",
      "search.title": "检索", "search.type": "值类型", "search.data": "值内容",
      "search.prefix": "前缀", "search.since": "创建时间起", "search.until": "创建时间止",
      "search.go": "检索", "search.more": "更多", "search.found": "已显示 {0} 条",
      "search.created": "创建时间", "search.none": "没有找到",
      "edit.title": "创建或编辑标识", "edit.load": "载入",
      "edit.template": "模板", "edit.notemplate": "（不使用）",
      "edit.tplfields": "模板字段", "edit.add": "添加一个值", "edit.save": "保存",
      "edit.delete": "删除标识", "edit.remove": "移除",
      "edit.loaded": "{0}：已载入 {1} 个值", "edit.new": "{0} 尚不存在：保存即创建",
      "edit.saved": "已保存 {0}", "edit.deleted": "已删除 {0}",
      "edit.needid": "请输入标识", "edit.needlogin": "请先登录",
      "edit.confirm": "删除 {0} 及其全部值？", "edit.failed": "失败：{0}",
      "edit.required": "{0} 为必填项",
      "tpl.title": "模板", "tpl.prefix": "前缀", "tpl.list": "列出",
      "tpl.editor": "模板编辑", "tpl.name": "名称", "tpl.version": "版本（产品型号）",
      "tpl.description": "描述", "tpl.items": "项数",
      "tpl.type": "类别", "tpl.category": "行业门类", "tpl.specific": "行业大类",
      "tpl.trade": "行业中类", "tpl.subclass": "行业小类",
      "tpl.iname": "名称", "tpl.idtype": "类型", "tpl.idindex": "索引", "tpl.required": "必填",
      "tpl.mtype": "数据类型", "tpl.min": "最小长度", "tpl.max": "最大长度",
      "tpl.additem": "添加一项", "tpl.save": "保存模板", "tpl.saved": "模板已保存",
      "tpl.edit": "编辑", "tpl.none": "{0} 下没有模板", "tpl.status": "状态",
      "login.title": "登录", "login.user": "账号", "login.password": "密码",
      "login.go": "登录", "login.token": "或使用节点的管理令牌", "login.usetoken": "使用令牌",
      "login.ok": "登录成功", "login.failed": "登录失败：{0}",
      "err.http": "HTTP {0}"
    }
  };

  function pick() {
    var saved = null;
    try { saved = localStorage.getItem("idnode-lang"); } catch (e) { /* private mode */ }
    if (saved && dict[saved]) return saved;
    var langs = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i]).toLowerCase();
      if (l.indexOf("zh") === 0) return "zh-CN";
      if (l.indexOf("en") === 0) return "en";
    }
    return "en";
  }

  IDN.lang = pick();
  IDN.t = function (key) {
    var s = (dict[IDN.lang] || dict.en)[key];
    if (s === undefined) s = dict.en[key] !== undefined ? dict.en[key] : key;
    for (var i = 1; i < arguments.length; i++)
      s = s.split("{" + (i - 1) + "}").join(String(arguments[i]));
    return s;
  };
  IDN.applyLang = function (root) {
    document.documentElement.setAttribute("lang", IDN.lang);
    var nodes = (root || document).querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++)
      nodes[i].textContent = IDN.t(nodes[i].getAttribute("data-i18n"));
    document.title = IDN.t("title");
  };
  IDN.setLang = function (lang) {
    if (!dict[lang]) return;
    IDN.lang = lang;
    try { localStorage.setItem("idnode-lang", lang); } catch (e) { /* private mode */ }
    IDN.applyLang();
    if (IDN.onLang) IDN.onLang();
  };
})();
