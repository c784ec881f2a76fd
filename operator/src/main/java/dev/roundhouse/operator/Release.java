package dev.roundhouse.operator;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The release this build is: the parent POM's {@code roundhouse.release}, which tags both images. */
public final class Release {

    /** For example {@code 0.1.0}. */
    public static final String VERSION = read();

    private Release() {}

    private static String read() {
        try (InputStream in = Release.class.getResourceAsStream("release.properties")) {
            if (in == null) {
                throw new IllegalStateException("release.properties is missing from the operator's classes");
            }
            Properties properties = new Properties();
            properties.load(in);
            String version = properties.getProperty("release", "");
            if (version.isBlank() || version.contains("${")) {
                throw new IllegalStateException("release.properties was not filled in by the build: '" + version + "'");
            }
            return version;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
