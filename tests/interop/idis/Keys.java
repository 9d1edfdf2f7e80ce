// SM2 keys the national way, made and read by the IDIS SDK
// (tests/interop/idis-sdk.sh).
//   Keys sm2 OUT      writes OUT (PKCS#8 PEM private key, an "EC" key on
//                     sm2p256v1, as the SDK signs with) and prints the
//                     HS_PUBKEY data the SDK encodes for its public key, hex
//   Keys read HEX     decodes HS_PUBKEY data with the SDK, prints the key's
//                     algorithm and its X.509 PEM on one line
import cn.teleinfo.idpointer.sdk.core.Util;
import cn.teleinfo.idpointer.sdk.util.KeyConverter;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import org.apache.commons.codec.binary.Hex;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

public class Keys {
    public static void main(String[] a) throws Exception {
        java.security.Security.addProvider(new BouncyCastleProvider());
        if (a[0].equals("sm2")) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC", "BC");
            g.initialize(new ECGenParameterSpec("sm2p256v1"));
            KeyPair kp = g.generateKeyPair();
            Files.write(Paths.get(a[1]), KeyConverter.toPkcs8UnencryptedPem(kp.getPrivate()).getBytes("UTF-8"));
            System.out.println(Hex.encodeHexString(Util.getBytesFromPublicKey(kp.getPublic())));
        } else {
            PublicKey k = Util.getPublicKeyFromBytes(Hex.decodeHex(a[1]));
            System.out.println(k.getAlgorithm() + " " + KeyConverter.toX509Pem(k).replace("\n", "").replace("\r", ""));
        }
    }
}
