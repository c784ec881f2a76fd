package dev.roundhouse.proxy.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;

/**
 * Records what one class logs (at the configured level, info by default), as "LEVEL message" lines,
 * while the console keeps getting it too. Close it to detach.
 */
public final class LogCapture implements AutoCloseable {

    private final String loggerName;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final AbstractAppender appender;
    private final LoggerContext context = (LoggerContext) LogManager.getContext(false);

    private LogCapture(String loggerName) {
        this.loggerName = loggerName;
        this.appender =
                new AbstractAppender(
                        "capture-" + loggerName + "-" + System.identityHashCode(this),
                        null,
                        null,
                        true,
                        Property.EMPTY_ARRAY) {
                    @Override
                    public void append(LogEvent event) {
                        if (loggerName == null || event.getLoggerName().equals(loggerName)) {
                            Throwable thrown = event.getThrown();
                            lines.add(
                                    event.getLevel() + " " + event.getMessage().getFormattedMessage()
                                            + (thrown == null ? "" : " [thrown: " + thrown + "]"));
                        }
                    }
                };
    }

    public static LogCapture of(Class<?> source) {
        return start(new LogCapture(source.getName()));
    }

    /** Every logger's lines; a line with an exception ends with {@code [thrown: ...]}. */
    public static LogCapture all() {
        return start(new LogCapture(null));
    }

    private static LogCapture start(LogCapture capture) {
        capture.appender.start();
        capture.context.getConfiguration().getRootLogger().addAppender(capture.appender, null, null);
        capture.context.updateLoggers();
        return capture;
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    /** How many lines contain {@code text}. */
    public long count(String text) {
        return lines.stream().filter(l -> l.contains(text)).count();
    }

    @Override
    public void close() {
        context.getConfiguration().getRootLogger().removeAppender(appender.getName());
        context.updateLoggers();
        appender.stop();
    }
}
