package dev.roundhouse.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A headless Chromium driven over the Chrome DevTools Protocol, for tests that look at a page as a browser shows it:
 * one page, {@link #navigate}, {@link #evaluate} JavaScript in it, {@link #screenshot}. What the page reports as an
 * error (console errors, uncaught exceptions, failed loads, Content-Security-Policy violations) is kept in
 * {@link #errors()}. DevTools listens on loopback only; pages outside loopback are refused. No dependency beyond the
 * JDK: the protocol's JSON is read and written by a small codec here.
 */
public final class HeadlessChromium implements AutoCloseable {

    private static final List<String> NAMES = List.of("chromium", "chromium-browser", "google-chrome");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(20);

    private final Process process;
    private final Path home;
    private final HttpClient http;
    private final Map<Integer, CompletableFuture<Map<String, Object>>> pending = new ConcurrentHashMap<>();
    private final List<String> errors = new CopyOnWriteArrayList<>();
    private final AtomicInteger ids = new AtomicInteger();
    private WebSocket socket;

    private HeadlessChromium(Process process, Path home) {
        this.process = process;
        this.home = home;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /** The first of chromium, chromium-browser, google-chrome on the PATH. */
    public static Optional<Path> executable() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String name : NAMES) {
            for (String dir : path.split(File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path candidate = Path.of(dir, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    /** Launches a browser with a fresh profile in a temporary directory, on about:blank. */
    public static HeadlessChromium start() {
        Path executable = executable()
                .orElseThrow(() -> new IllegalStateException("no chromium on the PATH (tried " + NAMES + ")"));
        Path home;
        try {
            home = Files.createTempDirectory("roundhouse-chromium");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path profile = home.resolve("profile");
        Path log = home.resolve("chromium.log");
        Process process;
        try {
            process = new ProcessBuilder(
                            executable.toString(),
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--no-first-run",
                            "--no-default-browser-check",
                            // nothing but the pages a test opens: no update checks, sync or pings to the internet
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-extensions",
                            "--disable-domain-reliability",
                            "--hide-scrollbars",
                            "--remote-debugging-port=0",
                            "--user-data-dir=" + profile,
                            "about:blank")
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
        } catch (IOException e) {
            deleteTree(home);
            throw new UncheckedIOException("cannot start " + executable, e);
        }
        HeadlessChromium browser = new HeadlessChromium(process, home);
        try {
            browser.connect(profile.resolve("DevToolsActivePort"));
            return browser;
        } catch (RuntimeException e) {
            String output = browser.output();
            browser.close();
            throw new IllegalStateException(e.getMessage() + "; chromium said:\n" + output, e);
        }
    }

    private void connect(Path activePort) {
        int port = until("DevToolsActivePort", START_TIMEOUT, () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("chromium exited with " + process.exitValue());
            }
            try {
                List<String> lines = Files.readAllLines(activePort);
                // written as "port\npath\n"; a partial write has fewer lines
                return lines.size() >= 2 ? Integer.valueOf(lines.get(0).trim()) : null;
            } catch (IOException | NumberFormatException e) {
                return null;
            }
        });
        String path = until("a page target", START_TIMEOUT, () -> {
            for (Object target : (List<?>) Json.read(get("http://127.0.0.1:" + port + "/json/list"))) {
                Map<?, ?> t = (Map<?, ?>) target;
                if ("page".equals(t.get("type")) && t.get("webSocketDebuggerUrl") instanceof String url) {
                    return URI.create(url).getRawPath();
                }
            }
            return null;
        });
        try {
            socket = http.newWebSocketBuilder()
                    .connectTimeout(Duration.ofSeconds(5))
                    .buildAsync(URI.create("ws://127.0.0.1:" + port + path), new Listener())
                    .get(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot open the DevTools socket: " + e, e);
        }
        send("Runtime.enable", Map.of());
        send("Log.enable", Map.of());
        send("Page.enable", Map.of());
    }

    /** Opens {@code url} (on loopback) and waits until its document has loaded. */
    public void navigate(String url) {
        URI uri = URI.create(url);
        String host = uri.getHost();
        if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
                && !("127.0.0.1".equals(host) || "localhost".equals(host) || "[::1]".equals(host))) {
            throw new IllegalArgumentException("only loopback pages: " + url);
        }
        Map<String, Object> result = send("Page.navigate", Map.of("url", url));
        if (result.get("errorText") instanceof String error) {
            throw new IllegalStateException("cannot open " + url + ": " + error);
        }
        // Page.navigate answers once the navigation is committed; the document may still be loading, and only the
        // new document has the new URL.
        String loaded = "document.readyState === 'complete' && location.href === new URL(" + Json.write(url) + ").href";
        until("the page " + url + " to load", LOAD_TIMEOUT, () -> {
            try {
                return "true".equals(evaluate(loaded)) ? Boolean.TRUE : null;
            } catch (IllegalStateException e) {
                return null; // the old document's context went away under the evaluation
            }
        });
    }

    /**
     * Evaluates {@code expression} in the page (a promise is awaited) and returns its value as text: a string as
     * it is, a whole number without a fraction, an object or array as JSON, {@code undefined} as "undefined".
     *
     * @throws IllegalStateException with the page's exception when the expression throws
     */
    public String evaluate(String expression) {
        Map<String, Object> answer =
                send("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        if (answer.get("exceptionDetails") instanceof Map<?, ?> details) {
            Object exception = details.get("exception");
            Object description = exception instanceof Map<?, ?> e ? e.get("description") : null;
            throw new IllegalStateException("the page threw: "
                    + (description != null ? description : details.get("text")) + " (evaluating " + expression + ")");
        }
        Map<?, ?> result = (Map<?, ?>) answer.get("result");
        if (result.containsKey("unserializableValue")) {
            return String.valueOf(result.get("unserializableValue"));
        }
        if (!result.containsKey("value")) {
            return String.valueOf(result.get("type")); // "undefined"
        }
        Object value = result.get("value");
        return value instanceof String s ? s : Json.write(value);
    }

    /** Lays the page out at {@code width} x {@code height} CSS pixels and writes what it shows as a PNG. */
    public void screenshot(Path png, int width, int height) {
        send(
                "Emulation.setDeviceMetricsOverride",
                Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", false));
        Map<String, Object> shot = send("Page.captureScreenshot", Map.of("format", "png"));
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.write(png, Base64.getDecoder().decode((String) shot.get("data")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What the page reported as an error so far: console errors, uncaught exceptions, log errors (CSP, loads). */
    public List<String> errors() {
        return List.copyOf(errors);
    }

    /** Sends one command and waits for its answer's result. */
    public Map<String, Object> send(String method, Map<String, ?> params) {
        int id = ids.incrementAndGet();
        CompletableFuture<Map<String, Object>> answer = new CompletableFuture<>();
        pending.put(id, answer);
        Map<String, Object> command = new LinkedHashMap<>();
        command.put("id", id);
        command.put("method", method);
        command.put("params", params);
        try {
            synchronized (this) { // one text message at a time on a WebSocket
                socket.sendText(Json.write(command), true).get(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
            return answer.get(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(method + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(method + ": no answer within " + COMMAND_TIMEOUT, e);
        } finally {
            pending.remove(id);
        }
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder message = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            message.append(data); // a message may come in several fragments
            if (last) {
                String text = message.toString();
                message.setLength(0);
                try {
                    received((Map<?, ?>) Json.read(text));
                } catch (RuntimeException e) {
                    errors.add("unreadable DevTools message: " + e.getMessage());
                }
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            failPending(new IllegalStateException("DevTools closed the socket: " + statusCode + " " + reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            failPending(error);
        }
    }

    @SuppressWarnings("unchecked")
    private void received(Map<?, ?> message) {
        if (message.get("id") instanceof Number id) {
            CompletableFuture<Map<String, Object>> answer = pending.get(id.intValue());
            if (answer == null) {
                return;
            }
            if (message.get("error") instanceof Map<?, ?> error) {
                answer.completeExceptionally(new IllegalStateException(String.valueOf(error.get("message"))));
            } else {
                Object result = message.get("result");
                answer.complete(result instanceof Map<?, ?> map ? (Map<String, Object>) map : Map.of());
            }
            return;
        }
        if (!(message.get("params") instanceof Map<?, ?> params)) {
            return;
        }
        switch (String.valueOf(message.get("method"))) {
            case "Runtime.consoleAPICalled" -> {
                if ("error".equals(params.get("type")) && params.get("args") instanceof List<?> args) {
                    List<String> parts = new ArrayList<>();
                    for (Object arg : args) {
                        Map<?, ?> a = (Map<?, ?>) arg;
                        Object value = a.containsKey("value") ? a.get("value") : a.get("description");
                        parts.add(String.valueOf(value));
                    }
                    errors.add("console.error: " + String.join(" ", parts));
                }
            }
            case "Runtime.exceptionThrown" -> {
                Map<?, ?> details = (Map<?, ?>) params.get("exceptionDetails");
                Object exception = details.get("exception");
                Object description = exception instanceof Map<?, ?> e ? e.get("description") : null;
                errors.add("uncaught: " + (description != null ? description : details.get("text")));
            }
            case "Log.entryAdded" -> {
                Map<?, ?> entry = (Map<?, ?>) params.get("entry");
                if ("error".equals(entry.get("level"))) {
                    errors.add("log (" + entry.get("source") + "): " + entry.get("text")
                            + (entry.get("url") == null ? "" : " at " + entry.get("url")));
                }
            }
            default -> {}
        }
    }

    private void failPending(Throwable error) {
        pending.values().forEach(answer -> answer.completeExceptionally(error));
    }

    private String get(String url) {
        try {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create(url))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? response.body() : "[]";
        } catch (IOException e) {
            return "[]"; // not listening yet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Polls {@code attempt} until it returns non-null, failing after {@code timeout}. */
    private static <T> T until(String what, Duration timeout, java.util.function.Supplier<T> attempt) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T value = attempt.get();
            if (value != null) {
                return value;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("waited " + timeout.toSeconds() + "s for " + what);
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(50); // the poll interval of a loop bounded by its deadline
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String output() {
        try {
            String text = Files.readString(home.resolve("chromium.log"), StandardCharsets.UTF_8);
            return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    /** Ends the browser and every process it started, then removes its profile. */
    @Override
    public void close() {
        if (socket != null) {
            socket.abort();
        }
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.add(process.toHandle());
        tree.forEach(ProcessHandle::destroy);
        for (ProcessHandle p : tree) {
            try {
                p.onExit().get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                p.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            } catch (ExecutionException e) {
                p.destroyForcibly();
            }
        }
        deleteTree(home);
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a leftover temporary directory is no reason to fail a test
        }
    }

    /** The JSON DevTools speaks: objects as maps, arrays as lists, whole numbers as Long, others as Double. */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object read(String text) {
            Json json = new Json(text);
            Object value = json.value();
            json.space();
            if (json.at != text.length()) {
                throw json.error("trailing text");
            }
            return value;
        }

        static String write(Object value) {
            StringBuilder out = new StringBuilder();
            write(value, out);
            return out.toString();
        }

        private static void write(Object value, StringBuilder out) {
            if (value == null || value instanceof Boolean) {
                out.append(value);
            } else if (value instanceof Double d && d == Math.rint(d) && !d.isInfinite() && Math.abs(d) < 1e15) {
                out.append(d.longValue());
            } else if (value instanceof Number n) {
                out.append(n);
            } else if (value instanceof Map<?, ?> map) {
                out.append('{');
                String comma = "";
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    out.append(comma);
                    write(String.valueOf(e.getKey()), out);
                    out.append(':');
                    write(e.getValue(), out);
                    comma = ",";
                }
                out.append('}');
            } else if (value instanceof List<?> list) {
                out.append('[');
                String comma = "";
                for (Object item : list) {
                    out.append(comma);
                    write(item, out);
                    comma = ",";
                }
                out.append(']');
            } else {
                String s = value.toString();
                out.append('"');
                for (int i = 0; i < s.length(); i++) {
                    char c = s.charAt(i);
                    switch (c) {
                        case '"' -> out.append("\\\"");
                        case '\\' -> out.append("\\\\");
                        case '\n' -> out.append("\\n");
                        case '\r' -> out.append("\\r");
                        case '\t' -> out.append("\\t");
                        default -> {
                            if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                                out.append(String.format("\\u%04x", (int) c));
                            } else {
                                out.append(c);
                            }
                        }
                    }
                }
                out.append('"');
            }
        }

        private Object value() {
            space();
            if (at >= text.length()) {
                throw error("unexpected end");
            }
            char c = text.charAt(at);
            switch (c) {
                case '{' -> {
                    at++;
                    Map<String, Object> map = new LinkedHashMap<>();
                    space();
                    if (peek('}')) {
                        return map;
                    }
                    do {
                        space();
                        String key = string();
                        space();
                        expect(':');
                        map.put(key, value());
                        space();
                    } while (peek(','));
                    expect('}');
                    return map;
                }
                case '[' -> {
                    at++;
                    List<Object> list = new ArrayList<>();
                    space();
                    if (peek(']')) {
                        return list;
                    }
                    do {
                        list.add(value());
                        space();
                    } while (peek(','));
                    expect(']');
                    return list;
                }
                case '"' -> {
                    return string();
                }
                default -> {
                    if (text.startsWith("true", at)) {
                        at += 4;
                        return Boolean.TRUE;
                    }
                    if (text.startsWith("false", at)) {
                        at += 5;
                        return Boolean.FALSE;
                    }
                    if (text.startsWith("null", at)) {
                        at += 4;
                        return null;
                    }
                    return number();
                }
            }
        }

        private Object number() {
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            String n = text.substring(start, at);
            if (n.isEmpty()) {
                throw error("unexpected character");
            }
            try {
                return n.matches("-?\\d{1,18}") ? (Object) Long.valueOf(n) : (Object) Double.valueOf(n);
            } catch (NumberFormatException e) {
                throw error("bad number " + n);
            }
        }

        private String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                if (at >= text.length()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(at++);
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                    }
                    default -> out.append(e); // " \ /
                }
            }
        }

        private void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
                at++;
            }
        }

        private boolean peek(char c) {
            if (at < text.length() && text.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw error("expected '" + c + "'");
            }
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at " + at + " of JSON");
        }
    }
}
