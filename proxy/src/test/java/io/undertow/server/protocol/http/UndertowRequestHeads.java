package io.undertow.server.protocol.http;

import dev.roundhouse.proxy.codec.HttpLimits;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.BadRequestException;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.nio.ByteBuffer;
import java.util.List;
import org.xnio.OptionMap;

/**
 * Undertow's own request-head parser (package-private, hence this package), run on bytes by themselves: what the
 * differential test holds the proxy's scanner against. Set up with the proxy server's parsing options.
 */
public final class UndertowRequestHeads {

    /**
     * What Undertow read: {@code complete} with the head's length in {@code consumed}, or refused ({@code refused}), or
     * neither (it wants more bytes); the framing fields as it would frame the body by them.
     */
    public record Parsed(
            boolean complete,
            boolean refused,
            int consumed,
            String method,
            String target,
            String protocol,
            List<String> contentLengths,
            List<String> transferEncodings) {}

    private static final RequestParser PARSER = RequestParser.instance(OptionMap.builder()
            .set(UndertowOptions.MAX_HEADERS, HttpLimits.MAX_HEADERS)
            .set(UndertowOptions.DECODE_URL, false)
            .set(UndertowOptions.ALLOW_UNESCAPED_CHARACTERS_IN_URL, false)
            .getMap());

    private UndertowRequestHeads() {}

    public static Parsed parse(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        RequestState state = new RequestState();
        HttpServerExchange exchange = new HttpServerExchange(null);
        try {
            PARSER.handle(buffer, state, exchange);
        } catch (BadRequestException | RuntimeException refused) {
            return new Parsed(false, true, buffer.position(), null, null, null, List.of(), List.of());
        }
        if (!state.isComplete()) {
            return new Parsed(false, false, buffer.position(), null, null, null, List.of(), List.of());
        }
        return new Parsed(
                true,
                false,
                buffer.position(),
                exchange.getRequestMethod() == null
                        ? null
                        : exchange.getRequestMethod().toString(),
                exchange.getRequestURI(),
                exchange.getProtocol() == null ? null : exchange.getProtocol().toString(),
                values(exchange.getRequestHeaders().get(Headers.CONTENT_LENGTH)),
                values(exchange.getRequestHeaders().get(Headers.TRANSFER_ENCODING)));
    }

    private static List<String> values(HeaderValues values) {
        return values == null ? List.of() : List.copyOf(values);
    }
}
