# Jython 2.2, run by handle-net.sh through the CNRI distribution's RunJython:
#   java -Duser.home=$HOME_WITH_ROOT_INFO -cp ... net.handle.apps.tools.RunJython cnri_client.py
# The client side of the idnode <-> HANDLE.NET interop matrix.  Environment:
#   IX_MODE   siteinfo  GET_SITE_INFO to IX_HOST:IX_PORT over UDP, write the
#                       HS_SITE it returns as a root_info to IX_OUT
#             resolve   resolve IX_ID through the root_info in user.home
#             create    CREATE IX_ID (HS_ADMIN + URL) authenticated as
#                       IX_ADMIN_IDX:IX_ADMIN_ID with the key file IX_KEY, no session
#             session   the same CREATE, then ADD EMAIL@2 to it, in one session
#                       set up with a Diffie-Hellman key exchange (the
#                       library's default); IX_ENC=1: encrypted session messages
#             pem       write the private key of key file IX_KEY as PKCS#8 PEM
#                       to IX_OUT (for idctl)
# Prints one line "RESULT ok|fail <detail>" for the caller to parse.
from java.lang import System
from java.io import File, FileInputStream, FileOutputStream
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

def writefile(path, data):
    fos = FileOutputStream(File(path))
    fos.write(data)
    fos.close()

def oneline(s):
    return str(s).replace("\n", " ").replace("\r", " ")

mode = env("IX_MODE", "resolve")
r = HandleResolver()
r.setSessionTracker(None)
try:
    if mode == "siteinfo":
        req = GenericRequest(Common.BLANK_HANDLE, AbstractMessage.OC_GET_SITE_INFO, None)
        resp = r.sendHdlUdpRequest(req, InetAddress.getByName(env("IX_HOST", "127.0.0.1")),
                                   int(env("IX_PORT", "22641")))
        if isinstance(resp, GetSiteInfoResponse):
            site = resp.siteInfo
            now = int(System.currentTimeMillis() / 1000)
            hv = HandleValue(1, Util.encodeString("HS_SITE"), Encoder.encodeSiteInfoRecord(site),
                             0, 86400, now, None, 1, 1, 1, 0)
            writefile(env("IX_OUT"), Encoder.encodeGlobalValues(array([hv], HandleValue)))
            print "RESULT ok servers=%d %s" % (len(site.servers), oneline(site.servers[0]))
        else:
            print "RESULT fail", oneline(resp)
    elif mode == "resolve":
        if env("IX_TCP", "0") == "1":
            r.setPreferredProtocols(array([Interface.SP_HDL_TCP], 'i'))
        req = ResolutionRequest(Util.encodeString(env("IX_ID")), None, None, None)
        resp = r.processRequest(req)
        if isinstance(resp, ResolutionResponse):
            vals = resp.getHandleValues()
            print "RESULT ok " + "; ".join(["%d:%s=%s" % (v.getIndex(), v.getTypeAsString(),
                                           v.getDataAsString()) for v in vals])
        else:
            print "RESULT fail", oneline(resp)
    elif mode == "create":
        r.setPreferredProtocols(array([Interface.SP_HDL_TCP], 'i'))
        key = Util.getPrivateKeyFromBytes(Util.decrypt(readfile(env("IX_KEY")), None), 0)
        auth = PublicKeyAuthenticationInfo(Util.encodeString(env("IX_ADMIN_ID")),
                                           int(env("IX_ADMIN_IDX")), key)
        hid = env("IX_ID")
        adm = Encoder.encodeAdminRecord(AdminRecord(Util.encodeString(env("IX_ADMIN_ID")),
                                        int(env("IX_ADMIN_IDX")), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1))
        vals = [HandleValue(100, Util.encodeString("HS_ADMIN"), adm),
                HandleValue(1, Util.encodeString("URL"), Util.encodeString("https://example.com/" + hid))]
        resp = r.processRequest(CreateHandleRequest(Util.encodeString(hid),
                                                    array(vals, HandleValue), auth))
        if resp.responseCode == AbstractMessage.RC_SUCCESS:
            print "RESULT ok rc=1"
        else:
            print "RESULT fail rc=%d %s" % (resp.responseCode, oneline(resp))
    elif mode == "session":
        key = Util.getPrivateKeyFromBytes(Util.decrypt(readfile(env("IX_KEY")), None), 0)
        admin = Util.encodeString(env("IX_ADMIN_ID"))
        aidx = int(env("IX_ADMIN_IDX"))
        auth = PublicKeyAuthenticationInfo(admin, aidx, key)
        ssi = SessionSetupInfo(Common.KEY_EXCHANGE_DH, auth)
        ssi.encrypted = env("IX_ENC", "0") == "1"
        r.setSessionTracker(ClientSessionTracker(ssi))
        hid = Util.encodeString(env("IX_ID"))
        adm = Encoder.encodeAdminRecord(AdminRecord(admin, aidx, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1))
        vals = [HandleValue(100, Util.encodeString("HS_ADMIN"), adm),
                HandleValue(1, Util.encodeString("URL"), Util.encodeString("https://example.com/" + env("IX_ID")))]
        rcs = []
        for req in [CreateHandleRequest(hid, array(vals, HandleValue), auth),
                    AddValueRequest(hid, array([HandleValue(2, Util.encodeString("EMAIL"),
                                    Util.encodeString("s@example.com"))], HandleValue), auth)]:
            resp = r.processRequest(req)
            rcs.append(resp.responseCode)
        sess = r.getSessionTracker().getAllSessions()
        what = "session %d%s" % (len(sess) and sess[0].sessionId or 0,
                                 len(sess) and sess[0].getEncryptedMesssageFlag() and " encrypted" or "")
        if rcs == [1, 1]:
            print "RESULT ok create rc=1, add rc=1 in", what
        else:
            print "RESULT fail rcs=%s in %s" % (rcs, what)
    elif mode == "pem":
        from java.util import Base64
        key = Util.getPrivateKeyFromBytes(Util.decrypt(readfile(env("IX_KEY")), None), 0)
        pem = "-----BEGIN PRIVATE KEY-----\n" + \
              Base64.getMimeEncoder(64, "\n").encodeToString(key.getEncoded()) + \
              "\n-----END PRIVATE KEY-----\n"
        writefile(env("IX_OUT"), pem)
        print "RESULT ok", key.getAlgorithm()
    else:
        print "RESULT fail unknown IX_MODE", mode
except HandleException, e:
    print "RESULT fail", oneline(e)
except Exception, e:
    print "RESULT fail", oneline(e)
