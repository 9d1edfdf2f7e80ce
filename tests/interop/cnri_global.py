# Jython 2.2, run by tests/interop/handle-net.d/40-global.sh through the CNRI
# distribution's RunJython, with a user.home whose root_info names only
# loopback servers.
#   IX_MODE     prefix (default): make the CNRI server a GHR-style root for a
#               prefix served by idnode, with CNRI's own client library (no
#               session), as below
#               udp: resolve IX_ID at IX_SITE_HOST:IX_SITE_PORT with one UDP
#               request (HandleResolver.sendHdlUdpRequest: no TCP fallback),
#               print "index:type:length" of each value; IX_TYPES=N asks
#               for N made-up types (30: a 922-byte, 2-datagram request)
#   IX_PREFIX   the prefix handle to create, e.g. 0.NA/20.600
#   IX_SITE_HOST, IX_SITE_PORT   the idnode whose HS_SITE (GET_SITE_INFO)
#               the prefix points at
#   IX_HOW      site: HS_SITE in the prefix handle
#               serv: HS_SERV in the prefix handle naming IX_SERV, which gets
#                     the HS_SITE (a service handle)
#               prefix: HS_SITE.PREFIX in the prefix handle (the site that
#                     serves its derived prefixes' handles)
#   IX_SERV     the service handle (IX_HOW=serv)
#   IX_ADMIN_ID, IX_ADMIN_IDX, IX_KEY   the CNRI admin and its key file
# The CNRI server written to (over TCP) is the one root_info names.
# Prints one line "RESULT ok|fail <detail>".
import jarray
from java.lang import Class, System
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

r = HandleResolver()
r.setSessionTracker(None)
r.setPreferredProtocols(array([Interface.SP_HDL_TCP], 'i'))

def send(req):
    # through the root_info (the CNRI server), answering its challenge
    return r.processRequest(req)

def create(hid, vals, auth):
    hb = Util.encodeString(hid)
    try:
        send(DeleteHandleRequest(hb, auth))
    except HandleException:
        pass
    resp = send(CreateHandleRequest(hb, array(vals, HandleValue), auth))
    if resp.responseCode != AbstractMessage.RC_SUCCESS:
        raise HandleException(HandleException.INTERNAL_ERROR,
                              "create %s: %s" % (hid, oneline(resp)))

def udp_resolve():
    types = None
    ntypes = int(env("IX_TYPES", "0"))
    if ntypes > 0:
        # a request over 492 bytes: CNRI sends it as several datagrams
        types = jarray.zeros(ntypes, Class.forName("[B"))
        for i in range(ntypes):
            types[i] = Util.encodeString("T%03d-%s" % (i, "x" * 20))
    req = ResolutionRequest(Util.encodeString(env("IX_ID")), types, None, None)
    resp = r.sendHdlUdpRequest(req, InetAddress.getByName(env("IX_SITE_HOST", "127.0.0.1")),
                               int(env("IX_SITE_PORT", "22641")))
    if isinstance(resp, ResolutionResponse):
        print "RESULT ok " + " ".join(["%d:%s:%d" % (v.getIndex(), v.getTypeAsString(),
                                      len(v.getData())) for v in resp.getHandleValues()])
    else:
        print "RESULT fail", oneline(resp)

def make_prefix():
    si = r.sendHdlUdpRequest(GenericRequest(Common.BLANK_HANDLE, AbstractMessage.OC_GET_SITE_INFO, None),
                             InetAddress.getByName(env("IX_SITE_HOST", "127.0.0.1")),
                             int(env("IX_SITE_PORT", "22641")))
    if not isinstance(si, GetSiteInfoResponse):
        raise HandleException(HandleException.INTERNAL_ERROR, "GET_SITE_INFO: " + oneline(si))
    site = Encoder.encodeSiteInfoRecord(si.siteInfo)
    key = Util.getPrivateKeyFromBytes(Util.decrypt(readfile(env("IX_KEY")), None), 0)
    admin_id = env("IX_ADMIN_ID", "0.NA/20.500")
    admin_idx = int(env("IX_ADMIN_IDX", "300"))
    auth = PublicKeyAuthenticationInfo(Util.encodeString(admin_id), admin_idx, key)
    adm = Encoder.encodeAdminRecord(AdminRecord(Util.encodeString(admin_id), admin_idx,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1))
    how = env("IX_HOW", "site")
    prefix = env("IX_PREFIX")
    vals = [HandleValue(100, Util.encodeString("HS_ADMIN"), adm)]
    if how == "serv":
        serv = env("IX_SERV")
        create(serv, [HandleValue(100, Util.encodeString("HS_ADMIN"), adm),
                      HandleValue(1, Util.encodeString("HS_SITE"), site)], auth)
        vals.append(HandleValue(1, Util.encodeString("HS_SERV"), Util.encodeString(serv)))
    elif how == "prefix":
        vals.append(HandleValue(1, Util.encodeString("HS_SITE.PREFIX"), site))
    else:
        vals.append(HandleValue(1, Util.encodeString("HS_SITE"), site))
    create(prefix, vals, auth)
    print "RESULT ok %s %s -> %s" % (prefix, how, oneline(si.siteInfo.servers[0]))

try:
    if env("IX_MODE", "prefix") == "udp":
        udp_resolve()
    else:
        make_prefix()
except HandleException, e:
    print "RESULT fail", oneline(e)
except Exception, e:
    print "RESULT fail", oneline(e)
