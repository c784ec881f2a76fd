package dev.roundhouse.bench.soak;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What Linux's {@code /proc/<pid>} says about a process: resident memory, open descriptors, CPU time, threads. */
public record ProcessStats(long rssBytes, long openFds, long cpuTicks, long threads) {

    /** Reads {@code /proc/<pid>}; throws if the process is gone. */
    public static ProcessStats of(long pid) throws IOException {
        Path proc = Path.of("/proc", Long.toString(pid));
        String status = Files.readString(proc.resolve("status"));
        long rss = kibField(status, "VmRSS:") * 1024;
        long threads = kibField(status, "Threads:");
        long fds;
        try (Stream<Path> entries = Files.list(proc.resolve("fd"))) {
            fds = entries.count();
        }
        return new ProcessStats(rss, fds, cpuTicks(Files.readString(proc.resolve("stat"))), threads);
    }

    /** The number after {@code field} in /proc/pid/status (kB for the Vm fields), -1 if absent. */
    static long kibField(String status, String field) {
        for (String line : status.split("\n")) {
            if (line.startsWith(field)) {
                String[] parts = line.substring(field.length()).strip().split("\\s+");
                return Long.parseLong(parts[0]);
            }
        }
        return -1;
    }

    /** utime + stime, in clock ticks, from /proc/pid/stat (the command name may hold spaces and parentheses). */
    static long cpuTicks(String stat) {
        String rest = stat.substring(stat.lastIndexOf(')') + 2);
        String[] f = rest.strip().split("\\s+");
        // rest starts at field 3 (state): utime is field 14, stime field 15
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
