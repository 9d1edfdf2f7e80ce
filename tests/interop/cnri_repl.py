# Jython 2.2, run by handle-net.d/60-replication.sh through the CNRI
# distribution's RunJython: HANDLE.NET's own replication client classes
# (DumpHandlesRequest/Response, RetrieveTxnRequest/Response and their
# callbacks) against a primary, without a session, as replication admin
# IX_ADMIN_IDX:IX_ADMIN_ID with the key file IX_KEY; every block of the
# streamed answer is checked by CNRI's code with the server key in
# IX_SRVPUB (HS_PUBKEY data). Environment: IX_HOST, IX_PORT, IX_LAST (the
# last txn id for 1001). Prints one "RESULT ok|fail <detail>" line per op.
from java.lang import System
from java.io import File, FileInputStream
from java.net import InetAddress
from jarray import zeros
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
        k = fis.read(buf, n, len(buf) - n)
        if k < 0: break
        n = n + k
    fis.close()
    return buf

def oneline(s):
    return str(s).replace("\n", " ").replace("\r", " ")

class Dump(DumpHandlesCallback):
    def __init__(self):
        self.handles = []
        self.nas = []
        self.txn = -1
    def addHandle(self, h, vals):
        self.handles.append("%s(%d)" % (Util.decodeString(h), len(vals)))
    def addNamingAuthority(self, na):
        self.nas.append(Util.decodeString(na))
    def processThisServerReplicationInfo(self, date, txnId):
        self.txn = txnId
    def processOtherSiteReplicationInfo(self, t):
        pass
    def setLastCreateOrDeleteDate(self, h, date, prio):
        pass
    def setLastHomeOrUnhomeDate(self, h, date, prio):
        pass

class Txns(TransactionCallback):
    def __init__(self):
        self.seen = []
        self.date = 0
    def processTransaction(self, t):
        n = 0
        if t.values is not None:
            n = len(t.values)
        self.seen.append("%d:%d:%s(%d)" % (t.txnId, t.action, Util.decodeString(t.handle), n))
    def finishProcessing(self, date):
        self.date = date

r = HandleResolver()
r.setSessionTracker(None)
host = InetAddress.getByName(env("IX_HOST", "127.0.0.1"))
port = int(env("IX_PORT", "2641"))
key = Util.getPrivateKeyFromBytes(Util.decrypt(readfile(env("IX_KEY")), None), 0)
auth = PublicKeyAuthenticationInfo(Util.encodeString(env("IX_ADMIN_ID")),
                                   int(env("IX_ADMIN_IDX")), key)
pub = Util.getPublicKeyFromBytes(readfile(env("IX_SRVPUB")), 0)

def send(req):
    # the stream's blocks are checked with the key; the message itself
    # is not asked to be signed
    req.certify = 0
    resp = r.sendHdlTcpRequest(req, host, port)
    if isinstance(resp, ChallengeResponse):
        ans = ChallengeAnswerRequest(auth.getAuthType(), auth.getUserIdHandle(),
                                     auth.getUserIdIndex(),
                                     auth.authenticate(resp, req), auth)
        ans.majorProtocolVersion = resp.majorProtocolVersion
        ans.minorProtocolVersion = resp.minorProtocolVersion
        ans.sessionId = resp.sessionId
        resp = r.sendHdlTcpRequest(ans, host, port)
    return resp

try:
    resp = send(DumpHandlesRequest(2, 1, 0, auth))
    if isinstance(resp, DumpHandlesResponse):
        cb = Dump()
        resp.processStreamedPart(cb, pub)
        print "RESULT ok dump: %d handles %s; prefixes %s; last txn %d" % (
            len(cb.handles), " ".join(cb.handles), " ".join(cb.nas), cb.txn)
    else:
        print "RESULT fail dump:", oneline(resp)
    resp = send(RetrieveTxnRequest(long(env("IX_LAST", "0")), 0, 2, 1, 0, auth))
    if isinstance(resp, RetrieveTxnResponse):
        cb = Txns()
        status = resp.processStreamedPart(cb, pub)
        print "RESULT ok txns: status %d; %s" % (status, " ".join(cb.seen))
    else:
        print "RESULT fail txns:", oneline(resp)
except Exception, e:
    print "RESULT fail", oneline(e)
