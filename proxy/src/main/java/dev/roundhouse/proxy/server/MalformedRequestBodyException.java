package dev.roundhouse.proxy.server;

import java.io.IOException;

/** A client's request body that cannot be read one way (or ended before its end): the client gets 400. */
public final class MalformedRequestBodyException extends IOException {

    private static final long serialVersionUID = 1L;

    MalformedRequestBodyException(String message) {
        super(message);
    }
}
