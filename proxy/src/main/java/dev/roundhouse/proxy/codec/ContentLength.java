package dev.roundhouse.proxy.codec;

/** A Content-Length value as this proxy reads one, from a backend's response or an HTTP/2 client's request. */
public final class ContentLength {

    private ContentLength() {}

    /**
     * The number a Content-Length value states: digits only (no sign, no spaces, no list), at most 18 of them so it
     * fits a long; -1 when it is anything else.
     */
    public static long parse(String value) {
        if (value.isEmpty() || value.length() > 18) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }
}
