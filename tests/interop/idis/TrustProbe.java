// On-demand probe (tests/interop/idis-sdk.d/50-trust.sh): the national Java
// SDK's trust layer, run against idnode's records. Every address is
// 127.0.0.1; nothing leaves the machine.
//
//   make rsa|sm2 ROOT ENT REC
//       makes a root key and an enterprise key, the root's self-issued
//       HS_CERT (300:ROOT, perms everything), the enterprise's HS_CERT
//       (300:ENT, issued by 300:ROOT, handlesUnderThisPrefix of REC's
//       prefix handle 0.NA/PREFIX) and an HS_SIGNATURE of REC over two
//       values, all with the SDK's HandleSigner; prints KEY VALUE lines
//       (ROOT_CERT, ENT_CERT, SIG tokens; ROOT_PUB PEM with \n escaped;
//       VALUE hex of each value's encoding; SPEC the same as idctl's
//       INDEX:TYPE=DATA).
//   verify PORT|json:DIR ROOT ROOT_PUB.pem REC [HANDLE...]
//       resolves REC, ROOT and the HANDLEs with the SDK (TCP to
//       127.0.0.1:PORT) or reads them from DIR/<n>.json (idctl resolve
//       --json), builds the chain of REC's HS_SIGNATURE with the SDK's
//       ChainBuilder and checks it with its ChainVerifier, the root being
//       ROOT with the key in ROOT_PUB.pem. Prints RESULT ok|fail DETAIL.
import cn.teleinfo.idpointer.sdk.client.GlobalIdClientFactory;
import cn.teleinfo.idpointer.sdk.client.IDClient;
import cn.teleinfo.idpointer.sdk.config.IDClientConfig;
import cn.teleinfo.idpointer.sdk.core.Encoder;
import cn.teleinfo.idpointer.sdk.core.HandleRecord;
import cn.teleinfo.idpointer.sdk.core.HandleValue;
import cn.teleinfo.idpointer.sdk.core.ValueReference;
import cn.teleinfo.idpointer.sdk.core.trust.ChainBuilder;
import cn.teleinfo.idpointer.sdk.core.trust.ChainVerificationReport;
import cn.teleinfo.idpointer.sdk.core.trust.ChainVerifier;
import cn.teleinfo.idpointer.sdk.core.trust.HandleSigner;
import cn.teleinfo.idpointer.sdk.core.trust.IssuedSignature;
import cn.teleinfo.idpointer.sdk.core.trust.JsonWebSignature;
import cn.teleinfo.idpointer.sdk.core.trust.JsonWebSignatureFactory;
import cn.teleinfo.idpointer.sdk.core.trust.Permission;
import cn.teleinfo.idpointer.sdk.security.gm.SM2Factory;
import cn.teleinfo.idpointer.sdk.util.KeyConverter;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public class TrustProbe {
    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static String oneLine(String pem) {
        return pem.replace("\r", "").replace("\n", "\\n");
    }

    static void make(String alg, String root, String ent, String rec) throws Exception {
        KeyPair rk, ek;
        if (alg.equals("sm2")) {
            SM2Factory.getProvider();
            rk = SM2Factory.generatePrivateKey();
            ek = SM2Factory.generatePrivateKey();
        } else {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            rk = g.generateKeyPair();
            ek = g.generateKeyPair();
        }
        long now = System.currentTimeMillis() / 1000L;
        long nbf = now - 86400, exp = now + 20L * 366 * 86400;
        ValueReference rref = new ValueReference(root, 300);
        ValueReference eref = new ValueReference(ent, 300);
        HandleSigner s = HandleSigner.getInstance();
        JsonWebSignature rc = s.signPermissions(rref, rk.getPublic(),
                Collections.singletonList(new Permission(null, Permission.EVERYTHING)),
                rref, rk.getPrivate(), null, nbf, exp);
        // the SDK reads a prefix permission only as its prefix handle
        String prefix = "0.NA/" + rec.substring(0, rec.indexOf('/'));
        JsonWebSignature ec = s.signPermissions(eref, ek.getPublic(),
                Collections.singletonList(new Permission(prefix, Permission.HANDLES_UNDER_THIS_PREFIX)),
                rref, rk.getPrivate(), null, nbf, exp);
        List<HandleValue> vals = new ArrayList<>();
        vals.add(new HandleValue(1, "URL", "https://example.com/trust/" + alg));
        vals.add(new HandleValue(2, "EMAIL", "qa@example.com"));
        JsonWebSignature sig = s.signHandleValues(rec, vals, eref, ek.getPrivate(), null, nbf, exp);
        System.out.println("ALG " + alg);
        System.out.println("NOW " + now);
        System.out.println("ROOT " + root);
        System.out.println("ENT " + ent);
        System.out.println("REC " + rec);
        System.out.println("ROOT_PUB " + oneLine(KeyConverter.toX509Pem(rk.getPublic())));
        System.out.println("ENT_PUB " + oneLine(KeyConverter.toX509Pem(ek.getPublic())));
        System.out.println("ROOT_CERT " + rc.serialize());
        System.out.println("ENT_CERT " + ec.serialize());
        System.out.println("SIG " + sig.serialize());
        for (HandleValue v : vals) {
            System.out.println("VALUE " + hex(Encoder.encodeHandleValue(v)));
            System.out.println("SPEC " + v.getIndex() + ":" + v.getTypeAsString() + "=" + v.getDataAsString());
        }
    }

    // One value of `idctl resolve --json` back into an SDK HandleValue.
    static HandleValue fromJson(JsonObject o) {
        int index = o.get("index").getAsInt();
        String type = o.get("type").getAsString();
        JsonObject d = o.getAsJsonObject("data");
        String fmt = d.get("format").getAsString();
        byte[] data;
        if (fmt.equals("string")) data = d.get("value").getAsString().getBytes(StandardCharsets.UTF_8);
        else if (fmt.equals("base64")) data = Base64.getDecoder().decode(d.get("value").getAsString());
        else throw new IllegalArgumentException("value " + index + ": data format " + fmt + " not handled");
        String p = o.has("permissions") ? o.get("permissions").getAsString() : "rwr-";
        byte ttlType = (byte) (o.has("ttlType") ? o.get("ttlType").getAsInt() : 0);
        int ttl = o.has("ttl") ? o.get("ttl").getAsInt() : 86400;
        return new HandleValue(index, type.getBytes(StandardCharsets.UTF_8), data, ttlType, ttl, 0,
                new ValueReference[0], p.charAt(0) == 'r', p.charAt(1) == 'w', p.charAt(2) == 'r', p.charAt(3) == 'w');
    }

    static HandleValue[] fetch(String src, String handle, int n) throws Exception {
        if (src.startsWith("json:")) {
            String txt = new String(Files.readAllBytes(Paths.get(src.substring(5), n + ".json")), StandardCharsets.UTF_8);
            JsonElement j = JsonParser.parseString(txt);
            JsonArray arr = j.isJsonArray() ? j.getAsJsonArray() : j.getAsJsonObject().getAsJsonArray("values");
            List<HandleValue> out = new ArrayList<>();
            for (JsonElement e : arr) out.add(fromJson(e.getAsJsonObject()));
            return out.toArray(new HandleValue[0]);
        }
        IDClient c = GlobalIdClientFactory.getIdClientFactory().newInstance(
                new InetSocketAddress("127.0.0.1", Integer.parseInt(src)));
        try {
            return c.resolveHandle(handle, null, null, false);
        } finally {
            c.close();
        }
    }

    static void verify(String[] a) throws Exception {
        String src = a[1], root = a[2], rec = a[4];
        String pem = new String(Files.readAllBytes(Paths.get(a[3])), StandardCharsets.UTF_8);
        if (!src.startsWith("json:"))
            GlobalIdClientFactory.init(IDClientConfig.builder().recursionServerIp("127.0.0.1").promiseTimeout(15)
                    .recursionServerPort(Integer.parseInt(src)).trustRootHandle(root).trustRootPubKeyPem(pem).build());
        Map<String, HandleRecord> map = new HashMap<>();
        HandleValue[] recVals = fetch(src, rec, 0);
        map.put(rec, new HandleRecord(rec, recVals));
        map.put(root, new HandleRecord(root, fetch(src, root, 1)));
        for (int i = 5; i < a.length; i++) map.put(a[i], new HandleRecord(a[i], fetch(src, a[i], i - 3)));
        JsonWebSignature jws = null;
        List<HandleValue> signedOnes = new ArrayList<>();
        for (HandleValue v : recVals) {
            if (v.getTypeAsString().equals("HS_SIGNATURE")) jws = JsonWebSignatureFactory.getInstance().deserialize(v.getDataAsString());
            else signedOnes.add(v);
        }
        if (jws == null) { System.out.println("RESULT fail no HS_SIGNATURE in " + rec); return; }
        List<IssuedSignature> chain = new ChainBuilder(map, null).buildChain(jws);
        PublicKey rootKey = KeyConverter.fromX509Pem(pem);
        List<PublicKey> keys = new ArrayList<>();
        keys.add(rootKey);
        ChainVerificationReport r = new ChainVerifier(keys, root).verifyValues(rec, java.util.Arrays.asList(recVals), chain);
        List<Integer> want = new ArrayList<>();
        for (HandleValue v : signedOnes) want.add(v.getIndex());
        boolean ok = r.canTrustAndAuthorized() && r.valuesReport.badDigestValues.isEmpty()
                && r.valuesReport.missingValues.isEmpty() && r.valuesReport.verifiedValues.containsAll(want);
        StringBuilder links = new StringBuilder();
        for (cn.teleinfo.idpointer.sdk.core.trust.IssuedSignatureVerificationReport l : r.issuedSignatureVerificationReports)
            links.append(links.length() == 0 ? "" : " ").append(l.sub).append(l.signatureVerifies ? "" : " !sig")
                    .append(l.dateInRange ? "" : " !date").append(Boolean.TRUE.equals(l.authorized) ? "" : " !authorized")
                    .append(l.exceptions.isEmpty() ? "" : " " + l.exceptions.get(0));
        String vr = (r.valuesReport.correctHandle ? "" : " !handle") + (r.valuesReport.signatureVerifies ? "" : " !sig")
                + (r.valuesReport.dateInRange ? "" : " !date") + (r.valuesReport.exceptions.isEmpty() ? "" : " " + r.valuesReport.exceptions.get(0));
        String alg = new String(Base64.getUrlDecoder().decode(jws.serialize().split("\\.")[0]), StandardCharsets.UTF_8);
        System.out.println("RESULT " + (ok ? "ok" : "fail") + " header " + alg + ", chain of " + chain.size()
                + ", rootIsTrusted=" + r.rootIsTrusted + ", canTrustAndAuthorized=" + r.canTrustAndAuthorized()
                + ", verified " + r.valuesReport.verifiedValues + ", bad digests " + r.valuesReport.badDigestValues
                + ", missing " + r.valuesReport.missingValues + (ok ? "" : "; links: " + links + "; values:" + vr));
    }

    // The SDK's network threads outlive main: every way out exits.
    public static void main(String[] a) {
        try {
            if (a.length >= 5 && a[0].equals("make")) make(a[1], a[2], a[3], a[4]);
            else if (a.length >= 5 && a[0].equals("verify")) verify(a);
            else {
                System.err.println("usage: make rsa|sm2 ROOT ENT REC | verify PORT|json:DIR ROOT ROOT_PUB.pem REC [HANDLE...]");
                System.exit(2);
            }
        } catch (Exception e) {
            System.out.println("RESULT fail " + e);
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }
}
