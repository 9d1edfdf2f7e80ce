# Jython 2.2, run by handle-net.d/30-negotiation.sh through the CNRI
# distribution's RunJython, with a user.home whose root_info names only a
# loopback server.  The CNRI client side of the negotiation rows.  Environment:
#   IX_MODE  certified  resolve IX_ID asking for a signed answer (certify),
#                       which the resolver checks with the key of the site
#                       in root_info; IX_TCP=1 over TCP, IX_HTTP=1 over the
#                       site's HTTP interface
#            seckey     CREATE IX_ID (HS_ADMIN + URL) as IX_ADMIN_IDX:IX_ADMIN_ID,
#                       an HS_SECKEY admin with the secret IX_SECRET, no session
#            home       HOME_NA IX_ID (a 0.NA/<prefix>) as the server admin
#                       IX_ADMIN_IDX:IX_ADMIN_ID (key file IX_KEY), no session;
#                       IX_OP=unhome: UNHOME_NA
#            version    resolve IX_ID with protocol IX_MAJOR.IX_MINOR, to
#                       IX_HOST:IX_PORT (TCP when IX_TCP=1), print the answer's
#                       version
# Prints one line "RESULT ok|fail <detail>" for the caller to parse.
from java.lang import System
from java.io import File, FileInputStream
from java.net import InetAddress
from jarray import array, zeros
from net.handle.hdllib import *

def env(name, default=None):
    v = System.getenv(name)
    if v is None or len(v) == 0:
        return default
    return v

def readfile(path):
    f = File(path)
    buf = zeros(int(f.length()), 'b')
    fis = FileInputStream(f)
    n = 0
    while n < len(buf):
        r = fis.read(buf, n, len(buf) - n)
        if r < 0: break
        n = n + r
    fis.close()
    return buf

def oneline(s):
    return str(s).replace("\n", " ").replace("\r", " ")

def rc_of(resp):
    if resp.responseCode == AbstractMessage.RC_SUCCESS:
        return "RESULT ok rc=1 v%d.%d" % (resp.majorProtocolVersion, resp.minorProtocolVersion)
    return "RESULT fail rc=%d %s" % (resp.responseCode, oneline(resp))

def create_values(hid, admin, idx):
    adm = Encoder.encodeAdminRecord(AdminRecord(Util.encodeString(admin), idx,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1))
    return array([HandleValue(100, Util.encodeString("HS_ADMIN"), adm),
                  HandleValue(1, Util.encodeString("URL"),
                              Util.encodeString("https://example.com/" + hid))], HandleValue)

mode = env("IX_MODE", "certified")
r = HandleResolver()
r.setSessionTracker(None)
if env("IX_TCP", "0") == "1":
    r.setPreferredProtocols(array([Interface.SP_HDL_TCP], 'i'))
if env("IX_HTTP", "0") == "1":
    r.setPreferredProtocols(array([Interface.SP_HDL_HTTP], 'i'))
try:
    if mode == "certified":
        req = ResolutionRequest(Util.encodeString(env("IX_ID")), None, None, None)
        req.certify = 1
        resp = r.processRequest(req)
        if isinstance(resp, ResolutionResponse):
            # processRequest throws when a certified answer does not verify
            print "RESULT ok verified signature, %d values, v%d.%d" % (
                len(resp.getHandleValues()), resp.majorProtocolVersion, resp.minorProtocolVersion)
        else:
            print "RESULT fail", oneline(resp)
    elif mode == "seckey":
        r.setPreferredProtocols(array([Interface.SP_HDL_TCP], 'i'))
        auth = SecretKeyAuthenticationInfo(Util.encodeString(env("IX_ADMIN_ID")),
                                           int(env("IX_ADMIN_IDX")),
                                           Util.encodeString(env("IX_SECRET")))
        hid = env("IX_ID")
        req = CreateHandleRequest(Util.encodeString(hid),
                                  create_values(hid, env("IX_ADMIN_ID"), int(env("IX_ADMIN_IDX"))), auth)
        if env("IX_MINOR") is not None:
            req.majorProtocolVersion = int(env("IX_MAJOR", "2"))
            req.minorProtocolVersion = int(env("IX_MINOR"))
        print rc_of(r.processRequest(req))
    elif mode == "home":
        r.setPreferredProtocols(array([Interface.SP_HDL_TCP], 'i'))
        key = Util.getPrivateKeyFromBytes(Util.decrypt(readfile(env("IX_KEY")), None), 0)
        auth = PublicKeyAuthenticationInfo(Util.encodeString(env("IX_ADMIN_ID")),
                                           int(env("IX_ADMIN_IDX")), key)
        op = AbstractMessage.OC_HOME_NA
        if env("IX_OP", "home") == "unhome":
            op = AbstractMessage.OC_UNHOME_NA
        req = GenericRequest(Util.encodeString(env("IX_ID")), op, auth)
        req.isAdminRequest = 1
        # to the site at IX_HOST:IX_PORT, as GenericBatch's HOME does
        si = GenericRequest(Common.BLANK_HANDLE, AbstractMessage.OC_GET_SITE_INFO, None)
        sresp = r.sendHdlUdpRequest(si, InetAddress.getByName(env("IX_HOST", "127.0.0.1")),
                                    int(env("IX_PORT")))
        print rc_of(r.sendRequestToSite(req, sresp.siteInfo))
    elif mode == "version":
        req = ResolutionRequest(Util.encodeString(env("IX_ID")), None, None, None)
        req.majorProtocolVersion = int(env("IX_MAJOR", "2"))
        req.minorProtocolVersion = int(env("IX_MINOR", "5"))
        addr = InetAddress.getByName(env("IX_HOST", "127.0.0.1"))
        if env("IX_TCP", "0") == "1":
            resp = r.sendHdlTcpRequest(req, addr, int(env("IX_PORT")))
        else:
            resp = r.sendHdlUdpRequest(req, addr, int(env("IX_PORT")))
        print rc_of(resp)
    else:
        print "RESULT fail unknown IX_MODE", mode
except HandleException, e:
    print "RESULT fail", oneline(e)
except Exception, e:
    print "RESULT fail", oneline(e)
