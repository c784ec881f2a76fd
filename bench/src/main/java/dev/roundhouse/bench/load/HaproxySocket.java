package dev.roundhouse.bench.load;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** One command on HAProxy's Runtime API (a {@code stats socket ... level admin} Unix socket), non-interactive. */
public final class HaproxySocket {

    private final Path socket;

    public HaproxySocket(Path socket) {
        this.socket = socket;
    }

    /** Sends {@code command}, returns HAProxy's whole answer (it closes the connection after one command). */
    public String command(String command) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) {
                ch.write(out);
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(8192);
            while (ch.read(in) >= 0) {
                answer.write(in.array(), 0, in.position());
                in.clear();
            }
            return answer.toString(StandardCharsets.US_ASCII);
        }
    }

    /** The {@code status} column of {@code show stat} for one server ("UP", "DOWN", "MAINT", ...), null if absent. */
    public String serverStatus(String backend, String server) throws IOException {
        String csv = command("show stat");
        String[] lines = csv.split("\n");
        if (lines.length == 0 || !lines[0].startsWith("# ")) {
            throw new IOException("unexpected answer to 'show stat': " + csv.strip());
        }
        String[] header = lines[0].substring(2).split(",", -1);
        int statusColumn = -1;
        for (int i = 0; i < header.length; i++) {
            if (header[i].equals("status")) {
                statusColumn = i;
            }
        }
        for (int l = 1; l < lines.length; l++) {
            String[] f = lines[l].split(",", -1);
            if (f.length > statusColumn && f[0].equals(backend) && f[1].equals(server)) {
                return f[statusColumn];
            }
        }
        return null;
    }
}
