package dev.roundhouse.bench.scale;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * This JVM's CPU time at one moment: the process's, and each live thread's by name. The difference of two samples
 * says where a window's CPU went, by thread group (the name with its numbers replaced by {@code #}: the operator's
 * {@code proxy-status-#}, the fake proxies' {@code fake-proxies I/O-#}, the API server's {@code vert.x-...}). A
 * thread that ended within the window is missing from the groups (not from the process total).
 */
public record CpuSample(long nanoTime, long processCpuNanos, Map<Long, Named> threads) {

    /** One thread's name and CPU time so far. */
    public record Named(String name, long cpuNanos) {}

    public static CpuSample take() {
        ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Map<Long, Named> threads = new HashMap<>();
        for (ThreadInfo info : bean.getThreadInfo(bean.getAllThreadIds())) {
            if (info == null) {
                continue;
            }
            long cpu = bean.getThreadCpuTime(info.getThreadId());
            if (cpu >= 0) {
                threads.put(info.getThreadId(), new Named(info.getThreadName(), cpu));
            }
        }
        long process = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
        return new CpuSample(System.nanoTime(), process, threads);
    }

    /** The group a thread name belongs to: digits runs as {@code #}. */
    static String group(String name) {
        return name.replaceAll("\\d+", "#");
    }

    /** CPU nanoseconds per thread group from {@code before} to this sample, largest first. */
    public Map<String, Long> byGroupSince(CpuSample before) {
        Map<String, Long> groups = new HashMap<>();
        threads.forEach((id, now) -> {
            Named then = before.threads().get(id);
            long used = now.cpuNanos() - (then == null ? 0 : then.cpuNanos());
            if (used > 0) {
                groups.merge(group(now.name()), used, Long::sum);
            }
        });
        Map<String, Long> sorted = new LinkedHashMap<>();
        groups.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }
}
