package dev.roundhouse.poolformat.tls;

/** A certificate or key the proxy cannot serve, and why, in a line that names the file. */
public final class InvalidCertificateException extends Exception {

    public InvalidCertificateException(String message) {
        super(message, null, false, false);
    }
}
