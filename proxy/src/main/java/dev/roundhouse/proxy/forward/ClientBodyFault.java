package dev.roundhouse.proxy.forward;

import dev.roundhouse.proxy.server.MalformedRequestBodyException;
import io.undertow.server.RequestTooBigException;
import java.io.IOException;

/** How a client whose body broke is answered, whichever protocol the backend speaks: its fault, not the backend's. */
record ClientBodyFault(int status, String reason) {

    static ClientBodyFault of(IOException e) {
        if (e instanceof RequestTooBigException) {
            return new ClientBodyFault(413, "payload too large: " + e.getMessage());
        }
        if (e instanceof MalformedRequestBodyException) {
            return new ClientBodyFault(400, "bad request: " + e.getMessage());
        }
        return new ClientBodyFault(400, "bad request: the request body ended early");
    }
}
