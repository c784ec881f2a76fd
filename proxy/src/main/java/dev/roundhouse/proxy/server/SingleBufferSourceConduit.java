package dev.roundhouse.proxy.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import org.xnio.IoUtils;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitReadableByteChannel;
import org.xnio.conduits.StreamSourceConduit;

/**
 * A source conduit that looks at every byte it passes: scattering reads and transfers all go through its
 * {@link #read(ByteBuffer)}, so nothing reaches the reader past it.
 */
abstract class SingleBufferSourceConduit extends AbstractStreamSourceConduit<StreamSourceConduit> {

    SingleBufferSourceConduit(StreamSourceConduit next) {
        super(next);
    }

    @Override
    public abstract int read(ByteBuffer dst) throws IOException;

    @Override
    public long read(ByteBuffer[] dsts, int offs, int len) throws IOException {
        for (int i = offs; i < offs + len; i++) {
            if (dsts[i].hasRemaining()) {
                return read(dsts[i]);
            }
        }
        return 0;
    }

    @Override
    public long transferTo(long position, long count, FileChannel target) throws IOException {
        return target.transferFrom(new ConduitReadableByteChannel(this), position, count);
    }

    @Override
    public long transferTo(long count, ByteBuffer throughBuffer, StreamSinkChannel target) throws IOException {
        return IoUtils.transfer(new ConduitReadableByteChannel(this), count, throughBuffer, target);
    }
}
