package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.BackendTlsSpec;
import dev.roundhouse.operator.api.v1alpha1.CircuitBreakerSpec;
import dev.roundhouse.operator.api.v1alpha1.HealthCheckSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.api.v1alpha1.TimeoutsSpec;
import dev.roundhouse.poolformat.BackendProtocol;
import dev.roundhouse.poolformat.Durations;
import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.poolformat.PoolDocument.CircuitBreaker;
import dev.roundhouse.poolformat.PoolDocument.HealthCheck;
import dev.roundhouse.poolformat.PoolDocument.Timeouts;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/** Builds the pool document of a LoadBalancer from its spec and, for a serviceRef, the Service's EndpointSlices. */
public final class PoolDocuments {

    /** The label the EndpointSlice controller puts on every slice of a Service. */
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private PoolDocuments() {}

    /**
     * The pool document for a spec: its fixed backends, or {@code discovered} when it has a serviceRef, and its
     * health check, circuit breaker and timeouts with the pool-format defaults for what the spec leaves out.
     *
     * @throws InvalidPoolDocumentException with every problem the CRD schema cannot catch (a duration of "0s",
     *     one beyond the 1h limit, duplicate backend URLs...), each named by its path in the pool document
     */
    public static PoolDocument fromSpec(LoadBalancerSpec spec, List<BackendEntry> discovered)
            throws InvalidPoolDocumentException {
        return fromSpec(spec, discovered, null);
    }

    /**
     * @param caBundle the PEM text {@code spec.backendTLS.caBundle} refers to, read by the caller; null when the spec
     *     names none
     */
    public static PoolDocument fromSpec(LoadBalancerSpec spec, List<BackendEntry> discovered, String caBundle)
            throws InvalidPoolDocumentException {
        List<String> problems = new ArrayList<>();
        DurationReader durations = new DurationReader(problems);

        HealthCheck hd = HealthCheck.DEFAULTS;
        HealthCheckSpec h = Objects.requireNonNullElseGet(spec.getHealthCheck(), HealthCheckSpec::new);
        HealthCheck healthCheck = new HealthCheck(
                or(h.getPath(), hd.path()),
                durations.read("healthCheck.interval", h.getInterval(), hd.interval()),
                durations.read("healthCheck.timeout", h.getTimeout(), hd.timeout()),
                or(h.getHealthyThreshold(), hd.healthyThreshold()),
                or(h.getUnhealthyThreshold(), hd.unhealthyThreshold()),
                h.getGrpcService());

        CircuitBreaker cd = CircuitBreaker.DEFAULTS;
        CircuitBreakerSpec c = Objects.requireNonNullElseGet(spec.getCircuitBreaker(), CircuitBreakerSpec::new);
        CircuitBreaker circuitBreaker = new CircuitBreaker(
                // A whole percentage in the CRD, a float in the document.
                c.getFailureRateThreshold() == null ? cd.failureRateThreshold() : c.getFailureRateThreshold(),
                or(c.getSlidingWindowSize(), cd.slidingWindowSize()),
                or(c.getMinimumNumberOfCalls(), cd.minimumNumberOfCalls()),
                durations.read(
                        "circuitBreaker.waitDurationInOpenState",
                        c.getWaitDurationInOpenState(),
                        cd.waitDurationInOpenState()),
                or(c.getPermittedNumberOfCallsInHalfOpenState(), cd.permittedNumberOfCallsInHalfOpenState()),
                or(c.getConsecutiveConnectFailures(), cd.consecutiveConnectFailures()),
                c.getGrpcFailureStatuses());

        Timeouts td = Timeouts.DEFAULTS;
        TimeoutsSpec t = Objects.requireNonNullElseGet(spec.getTimeouts(), TimeoutsSpec::new);
        Timeouts timeouts = new Timeouts(
                durations.read("timeouts.connect", t.getConnect(), td.connect()),
                durations.read("timeouts.request", t.getRequest(), td.request()));

        // The lowest version that says it all: a proxy of an older build keeps reading what uses nothing newer.
        BackendTlsSpec tls = spec.getBackendTLS();
        BackendTls backendTls = tls == null
                ? BackendTls.DEFAULTS
                : new BackendTls(caBundle, tls.getServerName(), Boolean.TRUE.equals(tls.getInsecureSkipVerify()));

        PoolDocument doc = new PoolDocument(
                        PoolDocument.CURRENT_VERSION,
                        backends(spec, discovered),
                        healthCheck,
                        circuitBreaker,
                        timeouts,
                        backendTls)
                .atLowestVersion();
        // Unparseable durations were replaced by their defaults above, so validate still checks everything else
        // and the user hears about every problem at once.
        try {
            PoolDocumentCodec.validate(doc);
        } catch (InvalidPoolDocumentException e) {
            problems.addAll(e.problems());
        }
        if (!problems.isEmpty()) {
            throw new InvalidPoolDocumentException(problems);
        }
        return doc;
    }

    /**
     * The ready backends behind one port of a Service, from its EndpointSlices: every address of every endpoint
     * that is ready and not terminating, as {@code <scheme>://<address>:<port>} with weight 1, de-duplicated and
     * sorted by URL so that the document text does not depend on the order the API returns slices in.
     *
     * @param servicePort the Service's {@code port} (not its targetPort); when the Service has no such port the
     *     result is empty, and telling the user is the caller's business
     * @param scheme http or https; null means http
     */
    public static List<BackendEntry> fromEndpointSlices(
            Service service, int servicePort, String scheme, List<EndpointSlice> slices) {
        Optional<ServicePort> port =
                service.getSpec() == null || service.getSpec().getPorts() == null
                        ? Optional.empty()
                        : service.getSpec().getPorts().stream()
                                // The same number may be open for TCP and UDP; HTTP needs the TCP one.
                                .filter(p -> Objects.equals(p.getPort(), servicePort) && isTcp(p.getProtocol()))
                                .findFirst();
        if (port.isEmpty()) {
            return List.of();
        }
        String portName = Objects.requireNonNullElse(port.get().getName(), "");
        String prefix = (scheme == null ? "http" : scheme.toLowerCase(Locale.ROOT)) + "://";
        String serviceName = service.getMetadata().getName();

        SortedSet<String> urls = new TreeSet<>();
        for (EndpointSlice slice : slices) {
            if (!belongsTo(slice, serviceName)) {
                continue;
            }
            Optional<EndpointPort> slicePort = slicePort(slice, portName);
            if (slicePort.isEmpty()) {
                continue;
            }
            // A slice port without a number means "any port"; then only a numeric targetPort says which one.
            Integer number =
                    slicePort.get().getPort() != null ? slicePort.get().getPort() : numericTargetPort(port.get());
            if (number == null) {
                continue;
            }
            for (Endpoint endpoint : Objects.requireNonNullElse(slice.getEndpoints(), List.<Endpoint>of())) {
                if (!serving(endpoint.getConditions())) {
                    continue;
                }
                for (String address : Objects.requireNonNullElse(endpoint.getAddresses(), List.<String>of())) {
                    // Addresses and DNS names are case-insensitive: lower-case them so duplicates collapse.
                    String host = address.toLowerCase(Locale.ROOT);
                    urls.add(prefix + (host.contains(":") ? "[" + host + "]" : host) + ":" + number);
                }
            }
        }
        return urls.stream()
                .map(url -> new BackendEntry(url, BackendEntry.DEFAULT_WEIGHT))
                .toList();
    }

    /** The canonical text of the document, as stored in the pool ConfigMap. */
    public static String render(PoolDocument doc) {
        return PoolDocumentCodec.write(doc);
    }

    private static List<BackendEntry> backends(LoadBalancerSpec spec, List<BackendEntry> discovered) {
        if (spec.getServiceRef() != null) {
            BackendProtocol protocol = protocol(spec.getServiceRef().getProtocol());
            return discovered == null
                    ? List.of()
                    : discovered.stream()
                            .map(e -> new BackendEntry(e.url(), e.weight(), protocol))
                            .toList();
        }
        List<BackendEntry> entries = new ArrayList<>();
        for (BackendSpec backend : Objects.requireNonNullElse(spec.getBackends(), List.<BackendSpec>of())) {
            entries.add(new BackendEntry(
                    backend.getUrl(),
                    or(backend.getWeight(), BackendEntry.DEFAULT_WEIGHT),
                    protocol(backend.getProtocol())));
        }
        return entries;
    }

    /** The protocol a spec names; absent is HTTP/1.1, an unknown name (the schema refuses it) is reported as null. */
    private static BackendProtocol protocol(String name) {
        return name == null ? BackendProtocol.DEFAULT : BackendProtocol.named(name);
    }

    /**
     * Slices are listed by the {@value #SERVICE_NAME_LABEL} label; one that names another Service is skipped
     * so that a caller passing a broader list cannot mix pools. A slice without the label is taken as given.
     */
    private static boolean belongsTo(EndpointSlice slice, String serviceName) {
        String owner = slice.getMetadata() == null || slice.getMetadata().getLabels() == null
                ? null
                : slice.getMetadata().getLabels().get(SERVICE_NAME_LABEL);
        return owner == null || owner.equals(serviceName);
    }

    /** The slice port named like the Service port; for an unnamed Service port also the slice's only port. */
    private static Optional<EndpointPort> slicePort(EndpointSlice slice, String portName) {
        List<EndpointPort> ports = Objects.requireNonNullElse(slice.getPorts(), List.of());
        Optional<EndpointPort> named = ports.stream()
                .filter(p -> Objects.requireNonNullElse(p.getName(), "").equals(portName))
                .findFirst();
        if (named.isEmpty() && portName.isEmpty() && ports.size() == 1) {
            return Optional.of(ports.get(0));
        }
        return named;
    }

    /** The Service port's targetPort when it is a number (it defaults to the port itself), else null. */
    private static Integer numericTargetPort(ServicePort port) {
        IntOrString target = port.getTargetPort();
        if (target == null) {
            return port.getPort();
        }
        return target.getIntVal();
    }

    /** Ready unknown (null) counts as ready, as the EndpointSlice API says consumers should read it. */
    private static boolean serving(EndpointConditions conditions) {
        return conditions == null
                || (!Boolean.FALSE.equals(conditions.getReady()) && !Boolean.TRUE.equals(conditions.getTerminating()));
    }

    private static boolean isTcp(String protocol) {
        return protocol == null || protocol.equals("TCP");
    }

    private static <T> T or(T value, T fallback) {
        return value == null ? fallback : value;
    }

    /** Parses spec durations, recording a problem and falling back to the default for one that does not parse. */
    private record DurationReader(List<String> problems) {
        Duration read(String path, String text, Duration fallback) {
            if (text == null) {
                return fallback;
            }
            try {
                return Durations.parse(text);
            } catch (IllegalArgumentException e) {
                problems.add(path + ": " + e.getMessage());
                return fallback;
            }
        }
    }
}
