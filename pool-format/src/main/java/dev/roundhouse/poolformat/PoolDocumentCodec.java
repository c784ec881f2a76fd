package dev.roundhouse.poolformat;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.poolformat.PoolDocument.CircuitBreaker;
import dev.roundhouse.poolformat.PoolDocument.HealthCheck;
import dev.roundhouse.poolformat.PoolDocument.Timeouts;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/** Reads, validates and writes pool documents as JSON. The one place both the operator and the proxy use. */
public final class PoolDocumentCodec {

    private static final JsonMapper MAPPER = JsonMapper.builder()
            // A repeated key in a hand-written POOL_FILE would otherwise silently keep the last value.
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // Writes 50 rather than 5E+1 for the failure rate.
            .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
            .build();

    private static final ObjectWriter WRITER = MAPPER.writer(new DefaultPrettyPrinter()
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n"))
            .withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withObjectEmptySeparator("")
                    .withArrayEmptySeparator("")));

    /** One digest per thread, reused: looking one up costs more than hashing a document while reloads run interpreted. */
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    });

    private PoolDocumentCodec() {}

    /**
     * Parses and validates a document, filling defaults for absent optional fields. Backend URLs come back
     * normalised ({@link BackendUrls#key}). Every problem found is reported in one exception.
     */
    public static PoolDocument parse(String json) throws InvalidPoolDocumentException {
        if (json == null || json.isBlank()) {
            throw new InvalidPoolDocumentException(List.of("document: is empty"));
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidPoolDocumentException(List.of("not valid JSON: " + describe(e)));
        }
        Problems problems = new Problems();
        PoolDocument doc = new PoolDocumentReader(problems).read(root);
        if (doc != null) {
            PoolDocumentRules.check(doc, problems);
        }
        problems.throwIfAny();
        return withNormalisedUrls(doc);
    }

    /** Checks a document built in code (e.g. from environment variables) against the same rules as {@link #parse}. */
    public static void validate(PoolDocument doc) throws InvalidPoolDocumentException {
        Problems problems = new Problems();
        PoolDocumentRules.check(doc, problems);
        problems.throwIfAny();
    }

    /**
     * What is wrong with a CA bundle's text, the check {@link #validate} makes of {@code backendTLS.caBundle}: for a
     * writer that reads the bundle from elsewhere and reports its problems apart from the rest of the document's.
     */
    public static Optional<String> caBundleProblem(String pem) {
        return Optional.ofNullable(PoolDocumentRules.caBundleProblem(pem));
    }

    /**
     * The canonical text of a document: every field explicit, fixed field order, normalised URLs, two-space
     * indentation, a trailing newline. Equal documents give byte-identical text, so a writer can compare
     * text (or {@link #contentHash}) to skip writes that change nothing.
     *
     * @throws IllegalArgumentException if the document is invalid: nothing a reader would reject gets written
     */
    public static String write(PoolDocument doc) {
        try {
            validate(doc);
        } catch (InvalidPoolDocumentException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        ObjectNode root = MAPPER.createObjectNode();
        root.put("version", doc.version());
        ArrayNode backends = root.putArray("backends");
        for (BackendEntry entry : doc.backends()) {
            ObjectNode backend = backends.addObject()
                    .put("url", BackendUrls.key(entry.url()))
                    .put("weight", entry.weight());
            if (doc.version() >= PoolDocument.VERSION_4) {
                backend.put("protocol", entry.protocol().wireName());
            }
        }
        HealthCheck health = doc.healthCheck();
        ObjectNode healthNode = root.putObject("healthCheck")
                .put("path", health.path())
                .put("interval", Durations.format(health.interval()))
                .put("timeout", Durations.format(health.timeout()))
                .put("healthyThreshold", health.healthyThreshold())
                .put("unhealthyThreshold", health.unhealthyThreshold());
        if (health.grpc()) {
            healthNode.put("grpcService", health.grpcService());
        }
        CircuitBreaker breaker = doc.circuitBreaker();
        ObjectNode breakerNode = root.putObject("circuitBreaker")
                // Float.toString is the shortest text that reads back as the same float.
                .put(
                        "failureRateThreshold",
                        new BigDecimal(Float.toString(breaker.failureRateThreshold())).stripTrailingZeros())
                .put("slidingWindowSize", breaker.slidingWindowSize())
                .put("minimumNumberOfCalls", breaker.minimumNumberOfCalls())
                .put("waitDurationInOpenState", Durations.format(breaker.waitDurationInOpenState()))
                .put("permittedNumberOfCallsInHalfOpenState", breaker.permittedNumberOfCallsInHalfOpenState());
        if (doc.version() >= PoolDocument.VERSION_2) {
            breakerNode.put("consecutiveConnectFailures", breaker.consecutiveConnectFailures());
        }
        if (doc.version() >= PoolDocument.VERSION_4) {
            ArrayNode statuses = breakerNode.putArray("grpcFailureStatuses");
            breaker.grpcFailureStatuses().forEach(statuses::add);
        }
        Timeouts timeouts = doc.timeouts();
        root.putObject("timeouts")
                .put("connect", Durations.format(timeouts.connect()))
                .put("request", Durations.format(timeouts.request()));
        if (doc.version() >= PoolDocument.VERSION_3) {
            BackendTls tls = doc.backendTls();
            ObjectNode tlsNode = root.putObject("backendTLS");
            if (tls.caBundle() != null) {
                tlsNode.put("caBundle", tls.caBundle());
            }
            if (tls.serverName() != null) {
                tlsNode.put("serverName", tls.serverName());
            }
            tlsNode.put("insecureSkipVerify", tls.insecureSkipVerify());
        }
        try {
            return WRITER.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("writing a JSON tree to a string cannot fail", e);
        }
    }

    /** Lower-case hex SHA-256 (64 characters) of the exact text, as UTF-8. */
    public static String contentHash(String documentText) {
        byte[] digest = SHA_256.get().digest(documentText.getBytes(StandardCharsets.UTF_8)); // digest() also resets it
        return HexFormat.of().formatHex(digest);
    }

    private static PoolDocument withNormalisedUrls(PoolDocument doc) {
        List<BackendEntry> backends = new ArrayList<>(doc.backends().size());
        for (BackendEntry entry : doc.backends()) {
            backends.add(new BackendEntry(BackendUrls.key(entry.url()), entry.weight(), entry.protocol()));
        }
        return new PoolDocument(
                doc.version(), backends, doc.healthCheck(), doc.circuitBreaker(), doc.timeouts(), doc.backendTls());
    }

    /** Jackson's own words and the position, without its "[Source: ...]" noise. */
    private static String describe(JsonProcessingException e) {
        String message = e.getOriginalMessage().replaceAll("\\[Source: [^;\\]]*; ", "[");
        JsonLocation at = e.getLocation();
        return at == null ? message : message + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }
}
