package dev.roundhouse.operator.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.layout.template.json.JsonTemplateLayout;

/**
 * Records what one class logs, as Log4j events (message, level, thrown, context data), and renders them as the
 * operator does in containers ({@code LOG_FORMAT=json}: the ECS JSON layout of log4j2.xml). Close it to detach.
 */
public final class LogCapture implements AutoCloseable {

    private final List<LogEvent> events = new CopyOnWriteArrayList<>();
    private final LoggerContext context = (LoggerContext) LogManager.getContext(false);
    private final AbstractAppender appender;
    private final JsonTemplateLayout json;

    private LogCapture(String loggerName) {
        appender =
                new AbstractAppender(
                        "capture-" + loggerName + "-" + System.identityHashCode(this),
                        null,
                        null,
                        true,
                        Property.EMPTY_ARRAY) {
                    @Override
                    public void append(LogEvent event) {
                        if (event.getLoggerName().equals(loggerName)) {
                            events.add(event.toImmutable());
                        }
                    }
                };
        json = JsonTemplateLayout.newBuilder()
                .setConfiguration(context.getConfiguration())
                .setEventTemplateUri("classpath:EcsLayout.json")
                .build();
    }

    public static LogCapture of(Class<?> source) {
        LogCapture capture = new LogCapture(source.getName());
        capture.appender.start();
        capture.context.getConfiguration().getRootLogger().addAppender(capture.appender, null, null);
        capture.context.updateLoggers();
        return capture;
    }

    public List<LogEvent> events() {
        return List.copyOf(events);
    }

    /** The event as one line of the operator's JSON log. */
    public String json(LogEvent event) {
        return json.toSerializable(event);
    }

    @Override
    public void close() {
        context.getConfiguration().getRootLogger().removeAppender(appender.getName());
        context.updateLoggers();
        appender.stop();
    }
}
