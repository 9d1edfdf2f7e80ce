#!/usr/bin/python3
"""Checks docs/openapi.yaml against the OpenAPI 3.0 schema, against the
route table (src/http/http_route.c) and against a running idnode: every
documented operation is called at least once, and each answer's status
code and body must be what the document describes for that operation.

Run by tests/e2e/test_openapi.c, which starts the node and prepares its
data (see there). Needs Debian's python3-yaml, python3-jsonschema and
openapi-specification (scripts/deps.sh --test); no network.

usage: openapi_check.py DOC ROUTES BASE TOKEN HDL_FRAME
"""
import copy
import datetime
import hashlib
import http.client
import json
import re
import sys
import urllib.parse

import jsonschema
import yaml

OAS_SCHEMA = "/usr/share/openapi-specification/schemas/v3.0/schema.json"
METHODS = ("get", "put", "post", "delete")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def validate_document(doc):
    with open(OAS_SCHEMA) as f:
        schema = json.load(f)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc),
                    key=lambda e: list(e.path))
    for e in errors[:10]:
        fail("document: %s at %s" % (e.message, "/".join(map(str, e.path))))
    print("document: %s against the OpenAPI 3.0 schema" %
          ("valid" if not errors else "%d errors" % len(errors)))


# ---- the route table ----

ROW = re.compile(r'\{\s*(HTTP_M_[A-Z_ |]+),\s*"([^"]*)",\s*(HTTP_EXACT|HTTP_PREFIX),'
                 r'\s*(NULL|"[^"]*")', re.S)
# rows that only answer 404 for what no other row serves
CATCH_ALL = {"/api", "/api/", "/identity/", "/identityv2/", "/snms/"}
# prefix rows and the documented path each stands for
PREFIX_PATH = {"/api/handles/": "/api/handles/{handle}", "/": "/{identifier}"}


def route_operations(path):
    src = open(path).read()
    table = src[src.index("routes[] = {"):src.index("#define NROUTES")]
    ops = set()
    for bits, pattern, match, ctype in ROW.findall(table):
        if pattern in CATCH_ALL:
            continue
        if match == "HTTP_PREFIX" and ctype == "NULL":
            pattern = PREFIX_PATH.get(pattern, pattern)
        elif pattern != "/" and pattern.endswith("/") and \
                pattern not in ("/console/",):
            pattern = pattern.rstrip("/")  # the same listing, "/" or not
        names = [b.strip() for b in bits.split("|")]
        for n in names:
            if n == "HTTP_M_READ":
                ops.add((pattern, "get"))
            elif n == "HTTP_M_ANY":
                ops.add((pattern, "get"))  # the console's front door
            else:
                ops.add((pattern, n[len("HTTP_M_"):].lower()))
    return ops


def check_routes(doc, routes):
    documented = {(p, m) for p, item in doc["paths"].items()
                  for m in METHODS if m in item}
    for op in sorted(routes - documented):
        fail("route %s %s is served but not documented" % (op[1].upper(), op[0]))
    # /console/ is served by the proxy row's files
    for op in sorted(documented - routes - {("/console/", "get")}):
        fail("%s %s is documented but no route serves it" % (op[1].upper(), op[0]))
    print("routes: %d served, %d documented operations" %
          (len(routes), len(documented)))


# ---- calls ----

def openapi_to_jsonschema(node):
    """OpenAPI 3.0 schema objects as JSON Schema: nullable becomes a null
    type; example and the other annotations are ignored by jsonschema."""
    if isinstance(node, dict):
        out = {k: openapi_to_jsonschema(v) for k, v in node.items()}
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [openapi_to_jsonschema(v) for v in node]
    return node


class Checker:
    def __init__(self, doc, base, token):
        self.doc = doc
        self.schemas = openapi_to_jsonschema(copy.deepcopy(doc))
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.token = token
        self.covered = set()
        self.calls = 0

    def call(self, doc_path, method, url, want, body=None, token=None,
             ctype="application/json", raw=None):
        """Sends the request; checks the status against want and the
        document, and the body against the documented schema."""
        self.calls += 1
        op = self.doc["paths"].get(doc_path, {}).get(method)
        label = "%s %s (%s)" % (method.upper(), url, doc_path)
        if op is None:
            fail("%s: not documented" % label)
            return None
        self.covered.add((doc_path, method))
        headers = {"Host": "127.0.0.1"}
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
        if data is not None:
            headers["Content-Type"] = ctype
        if token:
            headers["Authorization"] = "Bearer " + token
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.request(method.upper(), url, body=data, headers=headers)
        r = c.getresponse()
        payload = r.read()
        got_type = (r.getheader("Content-Type") or "").split(";")[0]
        c.close()
        if r.status != want:
            fail("%s: HTTP %d, wanted %d: %s" % (label, r.status, want,
                                                 payload[:300]))
        resp = op["responses"].get(str(r.status))
        if resp is None:
            fail("%s: status %d is not documented" % (label, r.status))
            return None
        if "$ref" in resp:
            resp = self.resolve(resp["$ref"])
        content = resp.get("content")
        if not content:
            return payload
        if got_type not in content:
            fail("%s: Content-Type %s, documented %s" %
                 (label, got_type, ", ".join(content)))
            return payload
        if got_type != "application/json":
            return payload
        try:
            j = json.loads(payload)
        except ValueError:
            fail("%s: not JSON: %s" % (label, payload[:200]))
            return None
        schema = openapi_to_jsonschema(content[got_type]["schema"])
        resolver = jsonschema.RefResolver.from_schema(self.schemas)
        errors = list(jsonschema.Draft4Validator(schema, resolver=resolver)
                      .iter_errors(j))
        for e in errors[:3]:
            fail("%s: body does not match the description: %s at %s" %
                 (label, e.message, "/".join(map(str, e.path))))
        return j

    def resolve(self, ref):
        node = self.doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node


def login_token(reply):
    return reply["data"]["token"] if reply else None


def v1_proof(password, date):
    h1 = hashlib.sha256(password.encode()).hexdigest()
    return hashlib.sha256((h1 + date).encode()).hexdigest()


def exercise(c, hdl_frame):
    T = c.token
    H = "88.118.8"
    P = "88.1021.150"
    # the node itself
    c.call("/", "get", "/", 302)
    c.call("/", "post", "/", 200, raw=open(hdl_frame, "rb").read(),
           ctype="application/x-hdl-message")
    c.call("/console/", "get", "/console/", 200)
    c.call("/api/stats", "get", "/api/stats", 200)
    c.call("/metrics", "get", "/metrics", 200)
    c.call("/api/prefixes", "get", "/api/prefixes", 200)
    c.call("/api/site", "get", "/api/site", 200)
    # REST
    rec = {"values": [{"index": 1, "type": "URL", "data": {
        "format": "string", "value": "https://example.com/oa"}}]}
    c.call("/api/handles/{handle}", "put", "/api/handles/%s/oa-1" % H, 201,
           body=rec, token=T)
    c.call("/api/handles/{handle}", "put", "/api/handles/%s/oa-2" % H, 401,
           body=rec)
    c.call("/api/handles/{handle}", "get", "/api/handles/%s/oa-1" % H, 200)
    c.call("/api/handles/{handle}", "get", "/api/handles/%s/none" % H, 404)
    c.call("/api/handles", "get", "/api/handles?prefix=" + H, 200, token=T)
    c.call("/api/handles", "get", "/api/handles?prefix=" + H, 401)
    c.call("/api/search", "get",
           "/api/search?type=URL&data=https%3A%2F%2Fexample.com%2Foa", 200)
    c.call("/{identifier}", "get", "/%s/oa-1" % H, 302)
    c.call("/{identifier}", "get", "/%s/none" % H, 404)
    c.call("/api/handles/{handle}", "delete", "/api/handles/%s/oa-1" % H, 200,
           token=T)
    # handle.net sessions (loopback: served without TLS)
    sess = c.call("/api/sessions", "post", "/api/sessions", 200)
    sid = sess["sessionId"] if sess else ""
    this = "/api/sessions/this?sessionId=" + sid
    c.call("/api/sessions/this", "get", this, 200)
    c.call("/api/sessions/this", "put", this, 200)
    c.call("/api/sessions/this", "post", this, 200)
    c.call("/api/sessions/this", "delete", this, 200)
    c.call("/api/sessions/this", "get", "/api/sessions/this", 404)
    # the SNMS API: logins
    c.call("/identity/token", "post", "/identity/token", 401,
           body={"username": "admin", "password": "wrong"})
    c.call("/identity/token", "post", "/identity/token", 400,
           body={"username": "admin"})
    tok = login_token(c.call("/identity/token", "post", "/identity/token", 200,
                             body={"username": "admin", "password": T}))
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    tok1 = login_token(c.call("/identity/token/v1", "post",
                              "/identity/token/v1", 200,
                              body={"username": "admin",
                                    "password": v1_proof(T, today)}))
    c.call("/identity/token/v1", "post", "/identity/token/v1", 401,
           body={"username": "admin", "password": v1_proof(T, "2019-08-15")})
    c.call("/identity/token", "delete", "/identity/token", 200, token=tok1)
    c.call("/identity/token", "delete", "/identity/token", 401, token=tok1)
    # templates and identifiers, the guide's bodies
    tpl = {"prefix": P, "version": "1.0", "industryCategory": "A",
           "industrySpecific": "01", "industryTrade": "011",
           "industrySubclass": "0111", "type": 1, "description": "测试模板",
           "items": [{"name": "名称", "idType": "name", "idIndex": "2000",
                      "metadata": {"type": "string", "minLength": 1,
                                   "maxLength": 10}, "required": False}]}
    c.call("/snms/api/v5/template", "post", "/snms/api/v5/template", 200,
           body=tpl, token=tok)
    c.call("/snms/api/v5/template", "post", "/snms/api/v5/template", 409,
           body=tpl, token=tok)
    tpl["items"][0]["state"] = 1
    c.call("/snms/api/v5/template", "put", "/snms/api/v5/template", 200,
           body=tpl, token=tok)
    c.call("/snms/api/v5/template", "get",
           "/snms/api/v5/template?prefix=%s&version=1.0" % P, 200, token=tok)
    c.call("/snms/api/v5/template", "get",
           "/snms/api/v5/template?prefix=%s&version=9.9" % P, 404, token=tok)
    c.call("/snms/api/v5/template", "get",
           "/snms/api/v5/template?prefix=%s&version=1.0" % P, 401)
    data = {"handle": P + "/xx002", "templateVersion": "1.0", "value": [
        {"data": {"format": "string", "value": "小型机械01"}, "auth": "",
         "index": 2000, "type": "name"}]}
    c.call("/identityv2/data", "post", "/identityv2/data", 200, body=data,
           token=tok)
    c.call("/identityv2/data", "post", "/identityv2/data", 409, body=data,
           token=tok)
    c.call("/identityv2/data", "post", "/identityv2/data", 401, body=data)
    c.call("/identityv2/data", "put", "/identityv2/data", 200, body=data,
           token=tok)
    c.call("/identityv2/data/detail", "get",
           "/identityv2/data/detail?handle=%s/xx002" % P, 200, token=tok)
    c.call("/identityv2/data/detail", "get", "/identityv2/data/detail", 400,
           token=tok)
    c.call("/identityv2/data", "delete", "/identityv2/data", 200,
           body={"handle": P + "/xx002"}, token=tok)
    c.call("/identityv2/data", "delete", "/identityv2/data", 404,
           body={"handle": P + "/xx002"}, token=tok)
    batch = [dict(data, handle=P + "/b1"), dict(data, handle=P + "/b2")]
    c.call("/identityv2/data/batchCreate", "post",
           "/identityv2/data/batchCreate", 200, body=batch, token=tok)
    c.call("/identityv2/data/batchUpdate", "put",
           "/identityv2/data/batchUpdate", 200, body=batch, token=tok)
    c.call("/identityv2/data/batchCreate", "post",
           "/identityv2/data/batchCreate", 400, body={"x": 1}, token=tok)
    c.call("/identityv2/data/batchDelete", "delete",
           "/identityv2/data/batchDelete", 200,
           body=[P + "/b1", P + "/b2", P + "/b3"], token=tok)
    c.call("/snms/api/v5/template", "delete", "/snms/api/v5/template", 200,
           body={"prefix": P, "version": "1.0"}, token=tok)
    # the former paths (deprecated)
    item = {"handle": H + "/f-1", "values": [{"index": 1, "type": "URL",
                                                "data": "https://example.com/f"}]}
    c.call("/snms/api/v5/data", "post", "/snms/api/v5/data", 201, body=item,
           token=tok)
    c.call("/snms/api/v5/data", "put", "/snms/api/v5/data", 200, body=item,
           token=tok)
    c.call("/snms/api/v5/data", "get", "/snms/api/v5/data?handle=%s/f-1" % H,
           200, token=tok)
    c.call("/snms/api/v5/data", "delete",
           "/snms/api/v5/data?handle=%s/f-1" % H, 200, token=tok)
    items = {"items": [dict(item, handle=H + "/f-2")]}
    c.call("/snms/api/v5/data/batch/create", "post",
           "/snms/api/v5/data/batch/create", 200, body=items, token=tok)
    c.call("/snms/api/v5/data/batch/update", "post",
           "/snms/api/v5/data/batch/update", 200, body=items, token=tok)
    c.call("/snms/api/v5/data/batch/delete", "post",
           "/snms/api/v5/data/batch/delete", 200,
           body={"handles": [H + "/f-2"]}, token=tok)
    former = {"prefix": H, "name": "oa", "version": 1, "industry": "C/38",
              "items": [{"name": "BATCH", "index": 2003, "type": "string"}]}
    c.call("/snms/api/v5/template", "post", "/snms/api/v5/template", 201,
           body=former, token=tok)
    q = "prefix=%s&name=oa&version=1" % H
    c.call("/snms/api/v5/template", "get", "/snms/api/v5/template?" + q, 200,
           token=tok)
    c.call("/snms/api/v5/template/publish", "post",
           "/snms/api/v5/template/publish?" + q, 200, token=tok)
    c.call("/snms/api/v5/template/withdraw", "post",
           "/snms/api/v5/template/withdraw?" + q, 200, token=tok)
    c.call("/snms/api/v5/template/publish", "post",
           "/snms/api/v5/template/publish?" + q, 400, token=tok)
    c.call("/snms/api/v5/template", "delete", "/snms/api/v5/template?" + q,
           400, token=tok)
    c.call("/identity/token", "delete", "/identity/token", 200, token=tok)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    doc_path, routes_path, base, token, hdl_frame = sys.argv[1:]
    with open(doc_path) as f:
        doc = yaml.safe_load(f)
    validate_document(doc)
    check_routes(doc, route_operations(routes_path))
    c = Checker(doc, base, token)
    exercise(c, hdl_frame)
    documented = {(p, m) for p, item in doc["paths"].items()
                  for m in METHODS if m in item}
    for p, m in sorted(documented - c.covered):
        fail("%s %s is documented but no call exercised it" % (m.upper(), p))
    print("calls: %d, operations exercised: %d of %d" %
          (c.calls, len(c.covered & documented), len(documented)))
    print("%d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
