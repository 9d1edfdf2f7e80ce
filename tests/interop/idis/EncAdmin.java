// An encrypted session of the national IDIS SDK against a node on loopback
// (tests/interop/idis-sdk.d/60-encrypted.sh, docs/national.md "Encrypted
// sessions"). In SDK 2.3.1 the encrypt argument of DefaultIdClient is kept
// but never applied to a request; the SDK's encrypted-session path is its
// login transport (TransportOnTcpLogin, which DefaultIdClient of 2.2.x
// used): this client is that DefaultIdClient, on the 2.3.1 classes. It sets
// up the session (op 400, key in a handle value), logs in (op 2001) and
// runs one write, all encrypted as the SDK does it.
//   EncAdmin [--default] HOST PORT ADMIN INDEX KEY.pem OP HANDLE [ARG...]
//   OP as in Admin.java (create|add|modify|remove|delete|login)
//   --default: the SDK's own DefaultIdClient with encrypt true instead (to
//   show what 2.3.1 sends then: the same as without)
// Prints "ok" or "rc N TEXT".
import cn.teleinfo.idpointer.sdk.client.AbstractIdClient;
import cn.teleinfo.idpointer.sdk.client.DefaultIdClient;
import cn.teleinfo.idpointer.sdk.client.IDClient;
import cn.teleinfo.idpointer.sdk.client.LoginInfoPoolKey;
import cn.teleinfo.idpointer.sdk.client.ValueHelper;
import cn.teleinfo.idpointer.sdk.core.AbstractIdRequest;
import cn.teleinfo.idpointer.sdk.core.AbstractIdResponse;
import cn.teleinfo.idpointer.sdk.core.AbstractMessage;
import cn.teleinfo.idpointer.sdk.core.HandleValue;
import cn.teleinfo.idpointer.sdk.core.PublicKeyAuthenticationInfo;
import cn.teleinfo.idpointer.sdk.core.Util;
import cn.teleinfo.idpointer.sdk.core.ValueReference;
import cn.teleinfo.idpointer.sdk.exception.IDException;
import cn.teleinfo.idpointer.sdk.transport.ChannelPoolMapManager;
import cn.teleinfo.idpointer.sdk.transport.RequestIdFactoryDefault;
import cn.teleinfo.idpointer.sdk.transport.ResponsePromise;
import cn.teleinfo.idpointer.sdk.transport.TransportOnTcpLogin;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

public class EncAdmin extends AbstractIdClient {
    private final TransportOnTcpLogin login;
    private final ChannelPoolMapManager pools;

    EncAdmin(InetSocketAddress at, PublicKeyAuthenticationInfo auth, boolean encrypt) {
        super(at, 10, auth, new LoginInfoPoolKey(at, new ValueReference(
                Util.decodeString(auth.getUserIdHandle()), auth.getUserIdIndex())), encrypt);
        pools = new ChannelPoolMapManager(1, 1, 1);
        login = new TransportOnTcpLogin(pools.getLoginChannelPoolMap(), pools.getMessageManager(),
                RequestIdFactoryDefault.getInstance());
    }

    @Override
    protected ResponsePromise doRequestInternal(AbstractIdRequest request) throws IDException {
        request.requestId = RequestIdFactoryDefault.getInstance().getNextInteger();
        request.encrypt = isEncrypt();
        return login.process(request, getLoginInfoPoolKey(), getAuthenticationInfo());
    }

    @Override
    protected AbstractIdResponse doRequest(AbstractIdRequest request) throws IDException {
        try {
            AbstractIdResponse r = doRequestInternal(request).get(getPromiseTimeout(), TimeUnit.SECONDS);
            if (r.responseCode != AbstractMessage.RC_SUCCESS && r.responseCode != AbstractMessage.RC_AUTHENTICATION_NEEDED)
                throw new IDException(IDException.RC_INVALID_RESPONSE_CODE, "response code error", r);
            return r;
        } catch (IDException e) {
            throw e;
        } catch (Exception e) {
            throw new IDException(IDException.PROMISE_GET_ERROR, "promise get error", e);
        }
    }

    @Override
    public void close() throws IOException {
        pools.close();
    }

    public static void main(String[] args) throws Exception {
        java.io.PrintStream out = System.out;
        System.setOut(System.err);
        boolean sdk = args[0].equals("--default");
        String[] a = sdk ? java.util.Arrays.copyOfRange(args, 1, args.length) : args;
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1]));
        PublicKeyAuthenticationInfo auth = new PublicKeyAuthenticationInfo(Util.encodeString(a[2]),
                Integer.parseInt(a[3]), Admin.key(a[4]));
        IDClient c = sdk ? new DefaultIdClient(at, 10, 1, auth, true) : new EncAdmin(at, auth, true);
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
