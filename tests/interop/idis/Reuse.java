// A session id of the national login (op 2001) presented on another
// connection (tests/interop/idis-sdk.sh). Speaks the SDK's own messages
// (its encoder, its signer) over plain sockets so that the session id and
// the connections are under the probe's control:
//   Reuse HOST PORT ADMIN INDEX KEY.pem HANDLE SESSION
// logs in on connection A with session id SESSION, then sends a create of
// HANDLE in that session on connection B, then of HANDLE-own on A. Prints
// "login rc N", "other-connection rc N", "same-connection rc N".
import cn.teleinfo.idpointer.sdk.core.*;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;

public class Reuse {
    static int rid = 1;

    static AbstractMessage send(Socket s, AbstractMessage m, byte[] msg, int session) throws Exception {
        ByteBuffer env = ByteBuffer.allocate(20);
        env.put((byte) 2).put((byte) 10).put((byte) 2).put((byte) 11);
        env.putInt(session).putInt(m.requestId).putInt(0).putInt(msg.length);
        OutputStream o = s.getOutputStream();
        o.write(env.array());
        o.write(msg);
        o.flush();
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] e = new byte[20];
        in.readFully(e);
        MessageEnvelope re = new MessageEnvelope();
        Encoder.decodeEnvelope(e, re);
        byte[] body = new byte[re.messageLength];
        in.readFully(body);
        return Encoder.decodeMessage(body, 0, re);
    }

    static AbstractMessage create(Socket s, String handle, int session) throws Exception {
        HandleValue[] vs = {new HandleValue(1, "URL", "https://example.com/reuse")};
        CreateHandleIdRequest c = new CreateHandleIdRequest(Util.encodeString(handle), vs, null);
        c.requestId = rid++;
        c.sessionId = session;
        return send(s, c, c.getEncodedMessage(), session);
    }

    public static void main(String[] a) throws Exception {
        java.io.PrintStream out = System.out;
        System.setOut(System.err);
        String host = "127.0.0.1";
        int port = Integer.parseInt(a[1]);
        PublicKeyAuthenticationInfo auth = new PublicKeyAuthenticationInfo(
                Util.encodeString(a[2]), Integer.parseInt(a[3]), Admin.key(a[4]));
        String handle = a[5];
        int session = Integer.parseInt(a[6]);
        try (Socket sa = new Socket(host, port); Socket sb = new Socket(host, port)) {
            // the SDK's login: site info, 2001, the answer to its challenge
            GenericIdRequest si = new GenericIdRequest(Util.encodeString("/"), AbstractMessage.OC_GET_SITE_INFO, null);
            si.requestId = rid++;
            si.sessionId = session;
            send(sa, si, si.getEncodedMessage(), session);
            LoginIDSystemIdRequest li = new LoginIDSystemIdRequest(auth.getUserIdHandle(), auth.getUserIdIndex(), auth);
            li.requestId = rid++;
            li.returnRequestDigest = true;
            li.rdHashType = Common.HASH_CODE_SHA256;
            li.sessionId = session;
            li.ignoreRestrictedValues = false;
            li.cacheCertify = false;
            li.certify = false;
            AbstractMessage ch = send(sa, li, MsgConverter.getInstance().convertLoginIDSystemReqToBytes(li), session);
            int rc = ch.responseCode;
            if (ch instanceof ChallengeIdResponse) {
                ChallengeIdResponse c = (ChallengeIdResponse) ch;
                ChallengeAnswerIdRequest ans = new ChallengeAnswerIdRequest(auth.getAuthType(),
                        auth.getUserIdHandle(), auth.getUserIdIndex(), auth.authenticate(c, li), auth);
                ans.requestId = rid++;
                ans.sessionId = c.sessionId;
                ans.returnRequestDigest = true;
                ans.ignoreRestrictedValues = false;
                ans.cacheCertify = false;
                ans.certify = false;
                rc = send(sa, ans, ans.getEncodedMessage(), c.sessionId).responseCode;
            }
            out.println("login rc " + rc);
            out.println("other-connection rc " + create(sb, handle, session).responseCode);
            out.println("same-connection rc " + create(sa, handle + "-own", session).responseCode);
        }
        System.exit(0);
    }
}
