// Resolution through the national IDIS SDK against a node on loopback
// (tests/interop/idis-sdk.sh). Prints "rc 1" and one line per value
// ("INDEX:TYPE=DATA"), or "rc N TEXT" when the SDK reports an error.
//   Resolve HOST PORT HANDLE [--types A,B] [--indexes 1,2]
//           [--token ADMIN INDEX KEY.pem] [--login ADMIN INDEX KEY.pem]
// --token sends the SDK's RS256 user token with the request; --login
// resolves on a logged-in connection (op 2001, then the request in session).
import cn.teleinfo.idpointer.sdk.client.DefaultIdClient;
import cn.teleinfo.idpointer.sdk.client.IDClient;
import cn.teleinfo.idpointer.sdk.client.ValueHelper;
import cn.teleinfo.idpointer.sdk.core.HandleValue;
import cn.teleinfo.idpointer.sdk.core.PublicKeyAuthenticationInfo;
import cn.teleinfo.idpointer.sdk.core.Util;
import cn.teleinfo.idpointer.sdk.exception.IDException;
import java.net.InetSocketAddress;
import java.security.PrivateKey;

public class Resolve {
    static PrivateKey key(String path) throws Exception {
        return Admin.key(path);
    }

    public static void main(String[] a) throws Exception {
        // the SDK prints its own traces on stdout: those go to stderr
        java.io.PrintStream out = System.out;
        System.setOut(System.err);
        // the SDK's built-in servers are public: only the address given here is used
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1]));
        String handle = a[2];
        String[] types = null;
        int[] indexes = null;
        String tokAdmin = null, loginAdmin = null, tokKey = null, loginKey = null;
        int tokIdx = 0, loginIdx = 0;
        for (int i = 3; i < a.length; i++) {
            switch (a[i]) {
                case "--types": types = a[++i].split(","); break;
                case "--indexes": {
                    String[] s = a[++i].split(",");
                    indexes = new int[s.length];
                    for (int j = 0; j < s.length; j++) indexes[j] = Integer.parseInt(s[j]);
                    break;
                }
                case "--token": tokAdmin = a[++i]; tokIdx = Integer.parseInt(a[++i]); tokKey = a[++i]; break;
                case "--login": loginAdmin = a[++i]; loginIdx = Integer.parseInt(a[++i]); loginKey = a[++i]; break;
                default: throw new IllegalArgumentException(a[i]);
            }
        }
        IDClient c = loginAdmin == null ? new DefaultIdClient(at, 10)
                : new DefaultIdClient(at, 10, 1, new PublicKeyAuthenticationInfo(
                        Util.encodeString(loginAdmin), loginIdx, key(loginKey)), false);
        int rc = 0;
        try {
            HandleValue[] vs;
            if (tokAdmin != null) {
                String tok = ValueHelper.getInstance().generateUserToken(tokIdx, tokAdmin,
                        System.nanoTime(), key(tokKey));
                vs = c.resolveHandle(handle, types, indexes, tok);
            } else {
                vs = c.resolveHandle(handle, types, indexes, loginAdmin != null);
            }
            out.println("rc 1");
            for (HandleValue v : vs)
                out.println(v.getIndex() + ":" + v.getTypeAsString() + "=" + v.getDataAsString());
        } catch (IDException e) {
            rc = e.getCode();
            out.println("rc " + rc + " " + e.getMessage());
        }
        System.exit(0);
    }
}
