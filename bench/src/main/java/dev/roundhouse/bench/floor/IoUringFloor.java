package dev.roundhouse.bench.floor;

import dev.roundhouse.proxy.codec.HttpLimits;
import dev.roundhouse.proxy.codec.RequestHeadScanner;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.incubator.channel.uring.IOUring;
import io.netty.incubator.channel.uring.IOUringEventLoopGroup;
import io.netty.incubator.channel.uring.IOUringServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A server floor on another I/O layer: the same answer as {@link FastPathFloor}, each head read by the proxy's own
 * {@link RequestHeadScanner}, but on io_uring (Netty's transport) instead of epoll and {@code read}/{@code write}.
 * Its question is the kernel's share: every request through a proxy costs about as much system time in nginx as in
 * Roundhouse, four fifths of its CPU, and io_uring is the one Linux interface that does the same socket work with
 * fewer system calls (one submission per event-loop turn, for every connection's reads and writes together).
 * {@code bench/proxy-vs-peers.sh} runs it as the target {@code iouring-floor}.
 *
 * <p>It answers as {@link FastPathFloor} does: keep-alive HTTP/1.1 without bodies, pipelined heads in one write,
 * {@code Connection: close} closed after its answer, a refused head answered with the scanner's status and closed.
 * {@code PORT}, {@code BIND_ADDRESS} and {@code FLOOR_BODY} come from the environment.
 */
public final class IoUringFloor {

    private final FloorAnswer answer;

    private IoUringFloor(String body) {
        this.answer = new FloorAnswer(body);
    }

    public static void main(String[] argv) throws Exception {
        FloorAnswer.serve(IoUringFloor::start);
    }

    /** Whether this kernel and process may use io_uring (a container's seccomp profile may forbid it); why not. */
    static Throwable unavailability() {
        return IOUring.isAvailable() ? null : IOUring.unavailabilityCause();
    }

    /** A floor listening on {@code host:port} (0: any free port). */
    record Running(EventLoopGroup group, Channel server, int port) implements FloorAnswer.Listening {
        @Override
        public void close() {
            server.close().syncUninterruptibly();
            // Bounded: on this kernel (6.18) the incubator transport's last clean-up can wait in io_uring_enter for
            // a completion that never comes. Its threads are daemons, so one left waiting holds no JVM up.
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
    }

    static Running start(String host, int port, String body) throws InterruptedException {
        IOUring.ensureAvailability();
        IoUringFloor floor = new IoUringFloor(body);
        EventLoopGroup group = new IOUringEventLoopGroup(
                Math.max(1, Runtime.getRuntime().availableProcessors()),
                new DefaultThreadFactory("iouring-floor", true));
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(IOUringServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(floor.new Connection());
                    }
                })
                .bind(host, port)
                .sync()
                .channel();
        return new Running(group, server, ((InetSocketAddress) server.localAddress()).getPort());
    }

    /** One client connection: every read scans what arrived and answers each whole head; the answers go per read. */
    private final class Connection extends ChannelInboundHandlerAdapter {
        private final RequestHeadScanner scanner =
                new RequestHeadScanner(HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
        /** A head still arriving, or null. */
        private ByteBuf held;
        /** The last answer made, and a direct copy of it that writes go from by retained duplicates. */
        private byte[] made;

        private ByteBuf direct;

        private boolean closeAfter;

        /** The answer, made again when its second changes; a write in flight keeps the one it took. */
        private ByteBuf response() {
            byte[] r = answer.bytes();
            if (r != made) {
                if (direct != null) {
                    direct.release();
                }
                direct = Unpooled.directBuffer(r.length).writeBytes(r);
                made = r;
            }
            return direct;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            if (closeAfter) {
                in.release();
                return;
            }
            if (held != null) {
                held.writeBytes(in);
                in.release();
                in = held;
                held = null;
            }
            int end = in.readableBytes();
            FloorAnswer.Heads heads = FloorAnswer.scan(scanner, in.nioBuffer(in.readerIndex(), end), end);
            for (int i = 0; i < heads.answers(); i++) {
                ctx.write(response().retainedDuplicate());
            }
            int start = heads.consumed();
            int refused = heads.refused();
            closeAfter = heads.close();
            if (refused != 0) {
                ctx.write(Unpooled.wrappedBuffer(FloorAnswer.refusal(refused)));
                closeAfter = true;
            }
            if (start < end && !closeAfter) {
                held = ctx.alloc().directBuffer(Math.max(end - start, 1024));
                held.writeBytes(in, in.readerIndex() + start, end - start);
            }
            in.release();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (closeAfter) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.flush();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (held != null) {
                held.release();
                held = null;
            }
            if (direct != null) {
                direct.release();
                direct = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
