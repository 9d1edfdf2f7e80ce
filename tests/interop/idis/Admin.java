// Administration through the national IDIS SDK against a node on loopback
// (tests/interop/idis-sdk.sh): logs in with op 2001 (RSA or SM2 key; the SDK
// picks SM2 for EC keys) and runs one write in that session.
//   Admin HOST PORT ADMIN INDEX KEY.pem OP HANDLE [ARG...]
//   OP: create|add|modify  HANDLE INDEX:TYPE=DATA... (HS_ADMIN=ADMIN@INDEX)
//       remove HANDLE INDEX...     delete HANDLE     login (resolves HANDLE)
// Prints "ok" or "rc N TEXT". The SDK counts a 402 answer to a write as
// success: callers check the effect on the node, not this line alone.
import cn.teleinfo.idpointer.sdk.client.DefaultIdClient;
import cn.teleinfo.idpointer.sdk.client.IDClient;
import cn.teleinfo.idpointer.sdk.client.ValueHelper;
import cn.teleinfo.idpointer.sdk.core.HandleValue;
import cn.teleinfo.idpointer.sdk.core.PublicKeyAuthenticationInfo;
import cn.teleinfo.idpointer.sdk.core.Util;
import cn.teleinfo.idpointer.sdk.exception.IDException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.PrivateKey;

public class Admin {
    // PKCS#8 PEM: RSA, or an SM2 key as BouncyCastle's "EC" key, the
    // algorithm name for which the SDK signs with SM2
    static PrivateKey key(String path) throws Exception {
        String pem = new String(Files.readAllBytes(Paths.get(path)), "UTF-8");
        byte[] der = java.util.Base64.getMimeDecoder().decode(
                pem.replaceAll("-----[A-Z ]+-----", ""));
        java.security.spec.PKCS8EncodedKeySpec spec = new java.security.spec.PKCS8EncodedKeySpec(der);
        try {
            return java.security.KeyFactory.getInstance("RSA").generatePrivate(spec);
        } catch (java.security.spec.InvalidKeySpecException e) {
            return java.security.KeyFactory.getInstance("EC",
                    new org.bouncycastle.jce.provider.BouncyCastleProvider()).generatePrivate(spec);
        }
    }

    public static void main(String[] a) throws Exception {
        // the SDK prints its own traces on stdout: those go to stderr
        java.io.PrintStream out = System.out;
        System.setOut(System.err);
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1]));
        PrivateKey key = key(a[4]);
        IDClient c = new DefaultIdClient(at, 10, 1, new PublicKeyAuthenticationInfo(
                Util.encodeString(a[2]), Integer.parseInt(a[3]), key), false);
        String op = a[5], handle = a[6];
        int n = a.length - 7;
        try {
            switch (op) {
                case "login": c.resolveHandle(handle, null, null, true); break;
                case "delete": c.deleteHandle(handle); break;
                case "remove": {
                    int[] idx = new int[n];
                    for (int i = 0; i < n; i++) idx[i] = Integer.parseInt(a[7 + i]);
                    c.deleteHandleValues(handle, idx);
                    break;
                }
                default: {
                    HandleValue[] vs = new HandleValue[n];
                    for (int i = 0; i < n; i++) {
                        String s = a[7 + i];
                        int colon = s.indexOf(':'), eq = s.indexOf('=');
                        int idx = Integer.parseInt(s.substring(0, colon));
                        String type = s.substring(colon + 1, eq), data = s.substring(eq + 1);
                        // HS_ADMIN=ADMIN@INDEX: the SDK's own admin record (all rights)
                        vs[i] = type.equals("HS_ADMIN")
                                ? ValueHelper.getInstance().newAdminValue(idx, data.substring(0, data.lastIndexOf('@')),
                                        Integer.parseInt(data.substring(data.lastIndexOf('@') + 1)))
                                : new HandleValue(idx, type, data);
                    }
                    if (op.equals("create")) c.createHandle(handle, vs);
                    else if (op.equals("add")) c.addHandleValues(handle, vs);
                    else if (op.equals("modify")) c.updateHandleValues(handle, vs);
                    else throw new IllegalArgumentException(op);
                }
            }
            out.println("ok");
        } catch (IDException e) {
            out.println("rc " + e.getCode() + " " + e.getMessage()
                    + (e.getCause() != null ? ": " + e.getCause().getMessage() : ""));
        }
        System.exit(0);
    }
}
