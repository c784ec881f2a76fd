package dev.roundhouse.proxy.server;

import dev.roundhouse.proxy.codec.HttpLimits;
import io.undertow.protocols.http2.GracefulGoAway;
import io.undertow.protocols.http2.Http2Channel;
import io.undertow.protocols.http2.Http2Stream;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http2.Http2ServerConnection;
import java.io.IOException;
import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.xnio.IoUtils;

/**
 * The client connections that speak HTTP/2: each one's streams in flight, held to
 * {@link HttpLimits#MAX_CONCURRENT_STREAMS} (Undertow announces the limit in its SETTINGS but does not hold clients to
 * it: a stream over it is refused here with RST_STREAM REFUSED_STREAM, which tells the client it was not processed
 * and may be retried); and GOAWAY for each when a drain begins: what a {@code Connection: close} header says in
 * HTTP/1.1, HTTP/2 says with that frame, and its clients then open their next streams elsewhere while the ones in
 * flight finish. A connection is known from its first stream on.
 *
 * <p>Undertow's own {@code sendGoAway} closes the connection as soon as the frame is out, cutting the streams in
 * flight; {@link GracefulGoAway} is the graceful one (RFC 9113 section 6.8), and the server closes the connections
 * when the drain ends. Undertow keeps an exchange's frame channel and stream to itself: two fields read by
 * reflection, which the tests of the drain and of the stream limit would catch moving in a new version.
 */
public final class Http2Connections {

    /**
     * Undertow keeps the frame channel of an HTTP/2 exchange's connection to itself; reading the field is the only way
     * to reach it from a handler.
     */
    private static final Field CHANNEL;
    /** The connection's response channel, which knows its stream's id. */
    private static final Field STREAM;

    static {
        try {
            CHANNEL = Http2ServerConnection.class.getDeclaredField("channel");
            CHANNEL.setAccessible(true);
            STREAM = Http2ServerConnection.class.getDeclaredField("responseChannel");
            STREAM.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Each HTTP/2 connection's streams in flight. */
    private final Map<Http2Channel, AtomicInteger> open = new ConcurrentHashMap<>();

    private volatile boolean goingAway;

    /**
     * Takes the stream of {@code exchange} when its connection is HTTP/2 (and tells a connection first seen during a
     * drain to go away); refuses it when the connection has its limit of streams in flight already.
     *
     * @return false when the stream was refused: the exchange is over, nothing more may be done with it
     */
    boolean admit(HttpServerExchange exchange) {
        if (!(exchange.getConnection() instanceof Http2ServerConnection connection)) {
            return true;
        }
        Http2Channel channel = channelOf(connection);
        AtomicInteger streams = open.get(channel);
        if (streams == null) {
            streams = new AtomicInteger();
            open.put(channel, streams);
            channel.addCloseTask(open::remove);
            if (goingAway) {
                goAway(channel);
            }
        }
        if (streams.get() >= HttpLimits.MAX_CONCURRENT_STREAMS) {
            channel.sendRstStream(streamOf(connection), Http2Channel.ERROR_REFUSED_STREAM);
            return false;
        }
        streams.incrementAndGet();
        AtomicInteger counted = streams;
        exchange.addExchangeCompleteListener((done, next) -> {
            counted.decrementAndGet();
            next.proceed();
        });
        return true;
    }

    /** Sends GOAWAY on every HTTP/2 connection: no new streams, the open ones finish. */
    void goAway() {
        goingAway = true;
        open.keySet().forEach(Http2Connections::goAway);
    }

    private static void goAway(Http2Channel channel) {
        channel.getIoThread().execute(() -> {
            try {
                GracefulGoAway.send(channel);
            } catch (IOException e) {
                IoUtils.safeClose(channel); // the connection failed under us: nothing left to tell it
            }
        });
    }

    private static Http2Channel channelOf(Http2ServerConnection connection) {
        try {
            return (Http2Channel) CHANNEL.get(connection);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The HTTP/2 stream that carries {@code exchange}'s response, to learn whether its client reset it (Undertow marks
     * it broken and tells the exchange nothing until it next writes); null for an HTTP/1.1 exchange.
     */
    public static io.undertow.server.protocol.framed.AbstractFramedStreamSinkChannel<?, ?, ?> clientStream(
            io.undertow.server.HttpServerExchange exchange) {
        if (!(exchange.getConnection() instanceof Http2ServerConnection connection)) {
            return null;
        }
        try {
            return (io.undertow.server.protocol.framed.AbstractFramedStreamSinkChannel<?, ?, ?>) STREAM.get(connection);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int streamOf(Http2ServerConnection connection) {
        try {
            return ((Http2Stream) STREAM.get(connection)).getStreamId();
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
