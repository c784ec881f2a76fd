package dev.roundhouse.proxy.tls;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Whether a certificate names a host, as HTTPS clients decide it today (RFC 6125, RFC 9110 section 4.3.4): a DNS
 * name against the certificate's DNS subject alternative names, where {@code *} may stand for the whole left-most
 * label only; an IP address against its IP address names. The subject's common name is not consulted: browsers
 * and Go stopped doing so years ago, and every certificate an in-cluster CA issues carries alternative names.
 */
final class ServerIdentity {

    private static final int DNS_NAME = 2;
    private static final int IP_ADDRESS = 7;
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private ServerIdentity() {}

    /** True when {@code certificate} names {@code host} (a DNS name or an IP literal). */
    static boolean names(X509Certificate certificate, String host) {
        List<String> dns = new ArrayList<>();
        List<String> ips = new ArrayList<>();
        alternativeNames(certificate, dns, ips);
        String wanted = stripDot(host).toLowerCase(Locale.ROOT);
        if (isIpLiteral(wanted)) {
            InetAddress address = literal(wanted);
            for (String ip : ips) {
                if (address != null && address.equals(literal(ip))) {
                    return true;
                }
            }
            return false;
        }
        for (String name : dns) {
            if (matches(stripDot(name).toLowerCase(Locale.ROOT), wanted)) {
                return true;
            }
        }
        return false;
    }

    /** The alternative names, for an error message: {@code [dns:a.example, ip:10.0.0.1]}. */
    static String describe(X509Certificate certificate) {
        List<String> dns = new ArrayList<>();
        List<String> ips = new ArrayList<>();
        alternativeNames(certificate, dns, ips);
        List<String> all = new ArrayList<>();
        dns.forEach(n -> all.add("dns:" + n));
        ips.forEach(n -> all.add("ip:" + n));
        return all.isEmpty() ? "no subject alternative names" : all.toString();
    }

    private static boolean matches(String pattern, String host) {
        if (!pattern.startsWith("*.")) {
            return pattern.equals(host);
        }
        // "*.example.com" matches one label in front of at least two more: never "example.com" or "a.b.example.com".
        String suffix = pattern.substring(1);
        int firstDot = host.indexOf('.');
        return firstDot > 0 && host.substring(firstDot).equals(suffix) && suffix.indexOf('.', 1) > 0;
    }

    private static void alternativeNames(X509Certificate certificate, List<String> dns, List<String> ips) {
        Collection<List<?>> names;
        try {
            names = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return;
        }
        if (names == null) {
            return;
        }
        for (List<?> name : names) {
            if (name.size() >= 2 && name.get(0) instanceof Integer type && name.get(1) instanceof String value) {
                if (type == DNS_NAME) {
                    dns.add(value);
                } else if (type == IP_ADDRESS) {
                    ips.add(value);
                }
            }
        }
    }

    private static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) {
            return true;
        }
        if (!IPV4.matcher(host).matches()) {
            return false;
        }
        for (String octet : host.split("\\.")) {
            if (Integer.parseInt(octet) > 255) {
                return false; // InetAddress would look it up as a name
            }
        }
        return true;
    }

    /** An IP literal parsed without any lookup (only literals get here), or null when it is not one. */
    private static InetAddress literal(String text) {
        String bare = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (!isIpLiteral(bare)) {
            return null;
        }
        try {
            return InetAddress.getByName(bare);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static String stripDot(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }
}
