package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.crud.KubernetesCrudDispatcherException;
import io.fabric8.kubernetes.client.server.mock.crud.KubernetesCrudPersistence;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.zjsonpatch.JsonPatchException;
import java.lang.reflect.Field;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.stream.Collectors;

/**
 * The Fabric8 CRUD dispatcher plus what a real API server has and the mock lacks: server-side apply, merge and
 * strategic merge patches (lists replaced or merged by key, {@code null} removing), discovery, Table answers for
 * custom resources, a record of every write, and custom resources pruned, defaulted and validated against their
 * CRD's schema on every write (POST, PUT and every PATCH go through {@link #admit}).
 */
final class ApiServerDispatcher extends KubernetesCrudDispatcher {

    private static final String APPLY = "application/apply-patch+yaml";
    private static final String MERGE = "application/merge-patch+json";
    private static final String STRATEGIC = "application/strategic-merge-patch+json";
    private static final String JSON_PATCH = "application/json-patch+json";
    private static final String CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static final Set<String> BUILT_IN_WITH_STATUS = Discovery.BUILT_IN.stream()
            .filter(Discovery.Resource::statusSubresource)
            .map(Discovery.Resource::plural)
            .collect(Collectors.toSet());
    /** Metadata only the server sets; ignored in applied objects and patches. */
    private static final List<String> SERVER_METADATA = List.of(
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds");

    /** Writes kept for {@link #writes()}; a long demo run keeps only the latest ones, but counts them all. */
    static final int KEPT_WRITES = 10_000;

    private final ReadWriteLock lock = baseLock();
    private final Deque<Write> writes = new ArrayDeque<>(); // guards itself and writeCount
    private int writeCount;
    private final Runnable forgetRecordedRequests;
    private final GarbageCollector collector =
            new GarbageCollector(map, lock, () -> Discovery.resources(crds()), this::handleDelete);
    private final AtomicLong requests = new AtomicLong();
    /** Compiled CRD schemas, by schema: a CRD that changes gets a new entry. */
    private final Map<JsonNode, CustomResourceSchema> schemas = new ConcurrentHashMap<>();

    private volatile String serverAddress = "127.0.0.1:0";

    /**
     * @param forgetRecordedRequests clears the mock web server's queue of recorded requests, which grows with every
     *     request and which nobody here reads
     */
    ApiServerDispatcher(Runnable forgetRecordedRequests) {
        this.forgetRecordedRequests = forgetRecordedRequests;
        // Burn resourceVersion 1: JOSDK applies new objects with resourceVersion "1" to mean "create only if absent",
        // which must conflict with any stored object, so no stored object may have that version.
        requestResourceVersion();
    }

    /**
     * The base class guards its store with a private lock that all its handlers take. Our read-modify-write handlers
     * must take the same lock, or a concurrent write, or a watch sending its initial state, could see half an update.
     */
    private ReadWriteLock baseLock() {
        try {
            Field field = KubernetesCrudDispatcher.class.getDeclaredField("lock");
            field.setAccessible(true);
            return (ReadWriteLock) field.get(this);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(
                    "kubernetes-server-mock changed: KubernetesCrudDispatcher has no lock field", e);
        }
    }

    void serverAddress(String hostAndPort) {
        this.serverAddress = hostAndPort;
    }

    List<Write> writes() {
        synchronized (writes) {
            return List.copyOf(writes);
        }
    }

    int writeCount() {
        synchronized (writes) {
            return writeCount;
        }
    }

    void resetWrites() {
        synchronized (writes) {
            writes.clear();
            writeCount = 0;
        }
    }

    private void recordWrite(Write write) {
        synchronized (writes) {
            writeCount++;
            writes.addLast(write);
            if (writes.size() > KEPT_WRITES) {
                writes.removeFirst();
            }
        }
    }

    /** Whether the request being answered is a dry run ({@code dryRun=All}): set per request, as below. */
    private final ThreadLocal<Boolean> dryRun = ThreadLocal.withInitial(() -> false);

    /**
     * A POST or PUT dry run, its body admitted: the answer the write would get (201 with the server's fields, or 200;
     * 409 when the object exists already or has moved on; 404 when a PUT finds none), nothing stored.
     */
    private MockResponse dryWrite(String method, String rawPath, String path, RecordedRequest admitted)
            throws KubernetesCrudDispatcherException {
        ObjectNode object = (ObjectNode) read(new String(admitted.getBody().getBytes(), StandardCharsets.UTF_8));
        ObjectNode metadata =
                object.path("metadata").isObject() ? (ObjectNode) object.get("metadata") : object.putObject("metadata");
        Map<String, String> at = attributes(path);
        String plural = at.get(KubernetesAttributesExtractor.PLURAL);
        lock.readLock().lock();
        try {
            if ("POST".equals(method)) {
                String name = metadata.path("name").asText("");
                if (!name.isEmpty() && findResource(getKey(pathOf(rawPath) + "/" + name)) != null) {
                    return status(409, "AlreadyExists", plural + " \"" + name + "\" already exists");
                }
                metadata.put("uid", UUID.randomUUID().toString());
                metadata.put(
                        "creationTimestamp",
                        Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
                metadata.put("generation", 1);
                return json(201, object.toString());
            }
            Map.Entry<AttributeSet, String> entry = findResource(getKey(rawPath));
            if (entry == null) {
                throw notFound(object.path("kind").asText(""), at);
            }
            JsonNode current = asNode(entry);
            checkTarget(current, object, at, current.path("kind").asText());
            for (String field : List.of("uid", "creationTimestamp", "generation", "resourceVersion")) {
                setOrRemove(metadata, field, current.path("metadata").get(field));
            }
            return json(200, object.toString());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A DELETE dry run: the object as the delete would answer it, still stored; 404 when there is none. */
    private MockResponse dryDelete(String rawPath, String path) throws KubernetesCrudDispatcherException {
        lock.readLock().lock();
        try {
            Map.Entry<AttributeSet, String> entry = findResource(getKey(rawPath));
            if (entry == null) {
                throw notFound("", attributes(path));
            }
            return json(200, entry.getValue());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Writes whose path contains this are refused with a 500, while set: a test's stand-in for a failing server. */
    private volatile String refusedWrites;

    void refuseWrites(String pathPart) {
        this.refusedWrites = pathPart;
    }

    /** The writes held back while set, and whether one has arrived: see {@link EmbeddedApiServer#holdWrites}. */
    private volatile WriteHold hold;

    WriteHold holdWrites(String pathPart, java.time.Duration atMost) {
        WriteHold h = new WriteHold(pathPart, atMost);
        this.hold = h;
        return h;
    }

    /**
     * How this request wants unknown fields treated ({@code fieldValidation}: Ignore, Warn, the default, or Strict),
     * and the fields the schema pruned, for the warnings: set per request, since the base class calls back.
     */
    private final ThreadLocal<String> fieldValidation = new ThreadLocal<>();

    private final ThreadLocal<List<String>> unknownFields = ThreadLocal.withInitial(ArrayList::new);

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String validation = Objects.requireNonNullElse(queryParam(request.getPath(), "fieldValidation"), "Warn");
        if (!List.of("Ignore", "Warn", "Strict").contains(validation)) {
            return status(
                    400,
                    "BadRequest",
                    "fieldValidation: Unsupported value: \"" + validation
                            + "\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
        }
        fieldValidation.set(validation);
        unknownFields.get().clear();
        String method = request.getMethod();
        if ("DELETE".equals(method) && queryParam(request.getPath(), "dryRun") == null) {
            orphaning(request);
        }
        MockResponse answer = dispatchValidated(request);
        if (answer.code() < 300 && !"GET".equals(method) && !dryRun.get()) {
            collector.wake();
        }
        // A real server sends one Warning header per unknown field, which kubectl prints as "Warning: unknown field".
        if ("Warn".equals(validation) && answer.code() < 300) {
            for (String field : unknownFields.get()) {
                answer.addHeader("Warning", "299 - \"unknown field \\\"" + field + "\\\"\"");
            }
        }
        unknownFields.get().clear();
        return answer;
    }

    /**
     * A delete that asks to orphan the object's dependents ({@code propagationPolicy: Orphan} in the query or the
     * DeleteOptions body, or the older {@code orphanDependents: true}) tells the collector to leave them.
     */
    private void orphaning(RecordedRequest request) {
        String rawPath = request.getPath();
        String policy = queryParam(rawPath, "propagationPolicy");
        boolean orphan = "Orphan".equals(policy);
        if (policy == null) {
            try {
                JsonNode options = read(request.getUtf8Body());
                orphan = "Orphan".equals(options.path("propagationPolicy").asText(null))
                        || options.path("orphanDependents").asBoolean(false);
            } catch (KubernetesCrudDispatcherException | RuntimeException e) {
                return; // no options, or none this server reads: background
            }
        }
        if (!orphan) {
            return;
        }
        ResourcePath target = ResourcePath.parse(pathOf(rawPath));
        if (target == null || target.name() == null || target.subresource() != null) {
            return; // not one object's delete (a collection's is not collected here)
        }
        try {
            String uid = stored(rawPath, target).path("metadata").path("uid").asText(null);
            if (uid != null) {
                collector.orphan(uid);
            }
        } catch (KubernetesCrudDispatcherException e) {
            // nothing stored there: the delete answers 404, and there is nothing to orphan
        }
    }

    AutoCloseable pauseGarbageCollection() {
        return collector.pause();
    }

    /** Stops the garbage collector's thread. */
    void close() {
        collector.close();
    }

    private MockResponse dispatchValidated(RecordedRequest request) {
        String rawPath = request.getPath();
        String path = rawPath.contains("?") ? rawPath.substring(0, rawPath.indexOf('?')) : rawPath;
        String method = request.getMethod();
        WriteHold held = hold;
        if (held != null && !"GET".equals(method) && path.contains(held.pathPart())) {
            held.await(method + " " + rawPath); // then answered as any other write, in its turn
        }
        String refused = refusedWrites;
        if (refused != null && !"GET".equals(method) && path.contains(refused)) {
            return status(500, "InternalError", "Internal error occurred: the test refuses writes to " + refused);
        }
        String dryRunParam = queryParam(rawPath, "dryRun");
        if (dryRunParam != null && !"All".equals(dryRunParam)) {
            return status(
                    400, "BadRequest", "dryRun: Unsupported value: \"" + dryRunParam + "\": supported values: \"All\"");
        }
        // A dry run (kubectl diff, --dry-run=server) is validated and answered as the write would be, and stores
        // nothing: no write recorded, no new resourceVersion, no watch event.
        boolean dry = dryRunParam != null && !"GET".equals(method);
        dryRun.set(dry);
        if (!"GET".equals(method) && !dry) {
            recordWrite(new Write(method, rawPath, request.getHeader("Content-Type")));
        }
        if (requests.incrementAndGet() % 1000 == 0) {
            forgetRecordedRequests.run();
        }
        try {
            ResourcePath target = ResourcePath.parse(path);
            if (target != null && target.subresource() != null && !servesSubresource(target)) {
                // The base class would read or write the object itself.
                return status(404, "NotFound", "the server could not find the requested resource");
            }
            String contentType = mediaType(request.getHeader("Content-Type"));
            if (target != null
                    && "scale".equals(target.subresource())
                    && storedCrd(target.group(), target.plural()) != null) {
                return scale(request, target, rawPath, path, contentType);
            }
            if (!contentType.isEmpty() && !contentType.contains("json") && !contentType.contains("yaml")) {
                // Protobuf (kubectl create configmap/namespace sends it) is not understood: say so rather than store
                // junk.
                return status(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format - "
                                + "accepted media types include: application/json, application/yaml");
            }
            if ("GET".equals(method)) {
                MockResponse answer = get(request, rawPath, path);
                if (answer != null) {
                    return answer;
                }
            } else if ("POST".equals(method) && path.startsWith("/apis/authorization.k8s.io/v1/selfsubject")) {
                return selfSubjectReview(path, request.getUtf8Body());
            } else if ("PATCH".equals(method)) {
                if (APPLY.equals(contentType)) {
                    return apply(rawPath, path, request.getUtf8Body());
                }
                // No Content-Type means JSON patch to the base class too.
                if (MERGE.equals(contentType)
                        || STRATEGIC.equals(contentType)
                        || JSON_PATCH.equals(contentType)
                        || contentType.isEmpty()) {
                    return patch(
                            rawPath, path, request.getUtf8Body(), contentType.isEmpty() ? JSON_PATCH : contentType);
                }
            } else if ("POST".equals(method) || "PUT".equals(method)) {
                request = admitBody(request, path);
                if (dry) {
                    return dryWrite(method, rawPath, path, request);
                }
            } else if ("DELETE".equals(method) && dry && target != null) {
                return dryDelete(rawPath, path);
            }
            return super.dispatch(request);
        } catch (KubernetesCrudDispatcherException e) {
            return json(e.getCode(), e.toStatusBody());
        } catch (RuntimeException e) {
            // The mock web server sends nothing when its dispatcher throws, and the client would wait forever.
            return status(500, "InternalError", String.valueOf(e));
        }
    }

    // ---------------------------------------------------------------- authorization

    /**
     * Self-subject access and rules reviews (JOSDK asks before leader election): the embedded server
     * has no authorization, so everything is allowed, which is what the reviews say.
     */
    private static MockResponse selfSubjectReview(String path, String body) {
        com.fasterxml.jackson.databind.node.ObjectNode review;
        try {
            review = (com.fasterxml.jackson.databind.node.ObjectNode)
                    new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
        } catch (java.io.IOException | ClassCastException e) {
            return status(400, "BadRequest", "the review is not a JSON object");
        }
        var answer = review.putObject("status");
        if (path.endsWith("/selfsubjectrulesreviews")) {
            var rule = answer.putArray("resourceRules").addObject();
            rule.putArray("verbs").add("*");
            rule.putArray("apiGroups").add("*");
            rule.putArray("resources").add("*");
            var nonResource = answer.putArray("nonResourceRules").addObject();
            nonResource.putArray("verbs").add("*");
            nonResource.putArray("nonResourceURLs").add("*");
            answer.put("incomplete", false);
        } else {
            answer.put("allowed", true);
        }
        return json(201, review.toString());
    }

    // ---------------------------------------------------------------- GET: discovery, OpenAPI, Tables

    private MockResponse get(RecordedRequest request, String rawPath, String path)
            throws KubernetesCrudDispatcherException {
        if (path.startsWith("/openapi/")) {
            // v3: only what kubectl needs to leave field validation to the server; v2 (full schemas): none.
            Discovery.Answer answer = OpenApiV3.answer(path, Discovery.resources(crds()));
            return answer != null
                    ? json(answer.code(), answer.body().toString())
                    : status(404, "NotFound", "the server could not find the requested resource");
        }
        if (Discovery.isDiscoveryPath(path)) {
            Discovery.Answer answer = Discovery.answer(path, Discovery.resources(crds()), serverAddress);
            return json(answer.code(), answer.body().toString());
        }
        boolean watch = "true".equals(queryParam(rawPath, "watch"));
        String selector = queryParam(rawPath, "fieldSelector");
        Map<String, String> at = attributes(path);
        if (selector != null
                && at.get(KubernetesAttributesExtractor.PLURAL) != null
                && at.get(KubernetesAttributesExtractor.NAME) == null) {
            FieldSelector fields = FieldSelector.parse(at.get(KubernetesAttributesExtractor.PLURAL), selector);
            if (fields.needsFiltering()) {
                if (watch) {
                    // Better refused than every object sent: the base class would ignore what it cannot select by.
                    return status(
                            400,
                            "BadRequest",
                            "the embedded API server selects watches by metadata.name and "
                                    + "metadata.namespace only, not by " + selector);
                }
                return typedList(at, selected(rawPath, fields));
            }
        }
        String accept = request.getHeader("Accept");
        if (accept != null && accept.contains("as=Table") && !watch) {
            MockResponse table = table(rawPath, path);
            if (table != null) {
                return table;
            }
        }
        if (!watch
                && at.get(KubernetesAttributesExtractor.PLURAL) != null
                && at.get(KubernetesAttributesExtractor.NAME) == null) {
            return typedList(at, super.handleGet(rawPath));
        }
        return null;
    }

    /**
     * A list answered as a real server answers it, {@code kind: EventList} rather than the base class's
     * {@code List}: client-go decodes a list into the type it asked for only when the kinds agree, and
     * {@code kubectl describe} shows {@code Events: <none>} when they do not.
     */
    private MockResponse typedList(Map<String, String> at, MockResponse plain)
            throws KubernetesCrudDispatcherException {
        if (plain.code() != 200) {
            return plain;
        }
        ObjectNode list = (ObjectNode) read(plain.getBody().readUtf8());
        String group = Objects.requireNonNullElse(at.get(KubernetesAttributesExtractor.API), "");
        String plural = at.get(KubernetesAttributesExtractor.PLURAL);
        Discovery.resources(crds()).stream()
                .filter(r -> r.plural().equals(plural)
                        && r.group().equals(group)
                        && r.version().equals(at.get(KubernetesAttributesExtractor.VERSION)))
                .findFirst()
                .ifPresent(r -> list.put("apiVersion", group.isEmpty() ? r.version() : group + "/" + r.version())
                        .put("kind", r.kind() + "List"));
        return json(200, list.toString());
    }

    /** The list answer with only the items {@code fields} selects (the base class selects by metadata only). */
    private MockResponse selected(String rawPath, FieldSelector fields) throws KubernetesCrudDispatcherException {
        String path = pathOf(rawPath);
        List<String> query = new ArrayList<>();
        for (String pair : rawPath.substring(rawPath.indexOf('?') + 1).split("&")) {
            if (!pair.startsWith("fieldSelector=")) {
                query.add(pair);
            }
        }
        if (!fields.metadataSelector().isEmpty()) {
            query.add("fieldSelector=" + java.net.URLEncoder.encode(fields.metadataSelector(), StandardCharsets.UTF_8));
        }
        MockResponse plain = super.handleGet(query.isEmpty() ? path : path + "?" + String.join("&", query));
        if (plain.code() != 200) {
            return plain;
        }
        ObjectNode list = (ObjectNode) read(plain.getBody().readUtf8());
        var items = JSON.createArrayNode();
        list.path("items").forEach(item -> {
            if (fields.matches(item)) {
                items.add(item);
            }
        });
        list.set("items", items);
        return json(200, list.toString());
    }

    /** A Table for a custom resource list or object, or null (for built-in kinds: the plain answer, as before). */
    private MockResponse table(String rawPath, String path) throws KubernetesCrudDispatcherException {
        Map<String, String> at = attributes(path);
        String group = at.get(KubernetesAttributesExtractor.API);
        String version = at.get(KubernetesAttributesExtractor.VERSION);
        String plural = at.get(KubernetesAttributesExtractor.PLURAL);
        if (group == null || plural == null || isStatusPath(path, at)) {
            return null;
        }
        var columns = crds().stream()
                .filter(c -> group.equals(c.getSpec().getGroup())
                        && plural.equals(c.getSpec().getNames().getPlural()))
                .flatMap(c -> c.getSpec().getVersions().stream())
                .filter(v -> v.getName().equals(version))
                .map(v -> Objects.requireNonNullElse(
                        v.getAdditionalPrinterColumns(), List.<CustomResourceColumnDefinition>of()))
                .findFirst();
        if (columns.isEmpty()) {
            return null;
        }
        MockResponse plain = super.handleGet(rawPath);
        if (plain.code() != 200) {
            return plain;
        }
        JsonNode body = read(plain.getBody().readUtf8());
        ObjectNode table = Tables.table(body, columns.get(), queryParam(rawPath, "includeObject"), Instant.now());
        return json(200, table.toString());
    }

    /** Every CustomResourceDefinition in the store, read now so that discovery follows CRDs as they come and go. */
    List<CustomResourceDefinition> crds() {
        return crdCache().parsed;
    }

    /**
     * The stored CRDs, parsed once per change: every request for a custom resource looks its CRD up, and a CRD with
     * Kubernetes types in its schema is megabytes of JSON to parse. (A stored document that did not change is the
     * same string, so comparing the lists costs a reference check each.)
     */
    private CrdCache crdCache() {
        List<String> stored = storedCrds();
        synchronized (crdCache) {
            if (!stored.equals(crdCache.json)) {
                crdCache.parsed = stored.stream()
                        .map(json -> SERIALIZATION.unmarshal(json, CustomResourceDefinition.class))
                        .toList();
                crdCache.trees = stored.stream()
                        .map(json -> {
                            try {
                                return JSON.readTree(json);
                            } catch (JsonProcessingException e) {
                                throw new IllegalStateException(
                                        "a stored CRD is not JSON: " + e.getOriginalMessage(), e);
                            }
                        })
                        .toList();
                crdCache.json = stored;
            }
            return crdCache;
        }
    }

    private static final class CrdCache {
        List<String> json = List.of();
        List<CustomResourceDefinition> parsed = List.of();
        List<JsonNode> trees = List.of();
    }

    private final CrdCache crdCache = new CrdCache();

    /** The stored CRDs as JSON (a write handler holding the write lock may take the read lock too). */
    private List<String> storedCrds() {
        AttributeSet query = getKey(CRD_PATH);
        lock.readLock().lock();
        try {
            return new ArrayList<>(map.entrySet())
                    .stream()
                            .filter(e -> e.getKey().matches(query))
                            .map(Map.Entry::getValue)
                            .toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * A Secret's {@code stringData} is write-only, as on a real API server: each of its keys goes into {@code data},
     * base64-encoded, over a key of the same name there, and {@code stringData} itself is never stored or returned.
     * A reader of {@code stringData} would work here and find nothing on a cluster.
     */
    private static void foldStringData(ObjectNode secret) {
        JsonNode plain = secret.remove("stringData");
        if (plain == null || !plain.isObject()) {
            return;
        }
        ObjectNode data = secret.path("data").isObject() ? (ObjectNode) secret.get("data") : secret.putObject("data");
        plain.fields()
                .forEachRemaining(field -> data.put(
                        field.getKey(),
                        java.util.Base64.getEncoder()
                                .encodeToString(
                                        field.getValue().asText().getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    }

    /**
     * The keys a Secret's type requires, as the API server checks them: a {@code kubernetes.io/tls} Secret without
     * {@code tls.crt} or {@code tls.key} is refused, so a test cannot create one that no cluster would hold.
     */
    private static List<FieldError> secretTypeErrors(ObjectNode secret) {
        List<FieldError> errors = new ArrayList<>();
        if ("kubernetes.io/tls".equals(secret.path("type").asText())) {
            for (String key : List.of("tls.crt", "tls.key")) {
                if (!secret.path("data").has(key)) {
                    errors.add(new FieldError(FieldError.Type.REQUIRED, "data[" + key + "]", null, ""));
                }
            }
        }
        return errors;
    }

    // ---------------------------------------------------------------- schema validation of custom resources

    /**
     * Checks every object's metadata as a real API server does ({@link ObjectMetaRules}), then prunes, defaults and
     * validates a custom resource in place against the schema of its CRD as stored now (matched by group, version
     * and plural). Built-in kinds and CRDs without a schema pass the second part unchanged.
     *
     * @param statusOnly a write to the status subresource: only the status is looked at
     * @throws FieldError.Invalid the 422 a real API server answers, with every problem found
     */
    private void admit(String path, ObjectNode object, boolean statusOnly) throws KubernetesCrudDispatcherException {
        Map<String, String> at = attributes(path);
        String plural = at.get(KubernetesAttributesExtractor.PLURAL);
        JsonNode crd = storedCrd(at.get(KubernetesAttributesExtractor.API), plural);
        if (!statusOnly && plural != null) {
            List<FieldError> metaErrors = new ArrayList<>(ObjectMetaRules.check(plural, object.path("metadata")));
            if (crd == null) {
                metaErrors.addAll(ObjectMetaRules.checkSpec(plural, object));
            }
            if (!metaErrors.isEmpty()) {
                String name = object.path("metadata")
                        .path("name")
                        .asText(Objects.requireNonNullElse(at.get(KubernetesAttributesExtractor.NAME), ""));
                Discovery.Resource builtIn = Discovery.BUILT_IN.stream()
                        .filter(r -> r.plural().equals(plural))
                        .findFirst()
                        .orElse(null);
                String kind =
                        crd != null ? crd.at("/spec/names/kind").asText() : builtIn != null ? builtIn.kind() : plural;
                String group = crd != null ? crd.at("/spec/group").asText() : builtIn != null ? builtIn.group() : "";
                throw new FieldError.Invalid(kind, group, name, metaErrors);
            }
        }
        if ("secrets".equals(plural) && !statusOnly) {
            foldStringData(object);
            List<FieldError> typeErrors = secretTypeErrors(object);
            if (!typeErrors.isEmpty()) {
                throw new FieldError.Invalid(
                        "Secret", "", object.path("metadata").path("name").asText(), typeErrors);
            }
        }
        if (crd == null) {
            return;
        }
        for (JsonNode version : crd.path("spec").path("versions")) {
            JsonNode schema = version.path("schema").path("openAPIV3Schema");
            if (!version.path("name").asText().equals(at.get(KubernetesAttributesExtractor.VERSION))
                    || !schema.isObject()) {
                continue;
            }
            if (schemas.size() > 100) {
                schemas.clear(); // CRDs changed again and again (a long demo run): start over
            }
            List<String> unknown = new ArrayList<>();
            List<FieldError> errors =
                    schemas.computeIfAbsent(schema, CustomResourceSchema::new).admit(object, statusOnly, unknown);
            if (!unknown.isEmpty() && "Strict".equals(fieldValidation.get())) {
                String kind = crd.at("/spec/names/kind").asText();
                throw new FieldError.BadRequest(
                        kind + " in version \"" + version.path("name").asText()
                                + "\" cannot be handled as a " + kind + ": strict decoding error: "
                                + unknown.stream()
                                        .map(field -> "unknown field \"" + field + "\"")
                                        .collect(Collectors.joining(", ")));
            }
            unknownFields.get().addAll(unknown);
            if (!errors.isEmpty()) {
                String name = object.path("metadata")
                        .path("name")
                        .asText(Objects.requireNonNullElse(at.get(KubernetesAttributesExtractor.NAME), ""));
                throw new FieldError.Invalid(
                        crd.at("/spec/names/kind").asText(),
                        crd.at("/spec/group").asText(),
                        name,
                        errors);
            }
        }
    }

    /**
     * Whether the subresource {@code target} names exists here: for a custom resource, {@code status} and
     * {@code scale} when its CRD version declares them; for a built-in kind, {@code status} where it has one and a
     * Deployment's {@code scale}.
     */
    private boolean servesSubresource(ResourcePath target) throws KubernetesCrudDispatcherException {
        JsonNode crd = storedCrd(target.group(), target.plural());
        if (crd != null) {
            for (JsonNode version : crd.path("spec").path("versions")) {
                if (version.path("name").asText().equals(target.version())) {
                    return (target.subresource().equals("status")
                                    || target.subresource().equals("scale"))
                            && version.path("subresources").has(target.subresource());
                }
            }
            return false;
        }
        boolean builtIn = Discovery.BUILT_IN.stream()
                .anyMatch(r -> r.group().equals(target.group()) && r.plural().equals(target.plural()));
        return !builtIn // an unknown kind: the base class answers as before
                || target.subresource().equals("status") && BUILT_IN_WITH_STATUS.contains(target.plural())
                || target.subresource().equals("scale") && target.plural().equals("deployments")
                || target.plural().equals("namespaces") && target.subresource().equals("finalize");
    }

    // ---------------------------------------------------------------- the scale subresource of custom resources

    /**
     * A custom resource's {@code scale}, as a real server serves it from the CRD's {@code subresources.scale}: an
     * {@code autoscaling/v1} Scale read from the paths it names; a PUT or PATCH of the Scale sets the replicas in the
     * object itself, admitted (schema, CEL rules) as any write of it is. What kubectl scale and an HPA use.
     */
    private MockResponse scale(
            RecordedRequest request, ResourcePath target, String rawPath, String path, String contentType)
            throws KubernetesCrudDispatcherException {
        JsonNode paths = scalePaths(target);
        String objectRaw = rawPath.replaceFirst("/scale(?=\\?|$)", "");
        String objectPath = path.substring(0, path.length() - "/scale".length());
        String method = request.getMethod();
        if ("GET".equals(method)) {
            return json(200, scaleOf(stored(objectRaw, target), paths).toString());
        }
        JsonNode replicas;
        if ("PUT".equals(method)) {
            replicas = read(request.getUtf8Body()).path("spec").path("replicas");
        } else if ("PATCH".equals(method)) {
            ObjectNode scale = scaleOf(stored(objectRaw, target), paths);
            JsonNode patch = JSON_PATCH.equals(contentType) || contentType.isEmpty()
                    ? readJsonPatch(request.getUtf8Body())
                    : read(request.getUtf8Body());
            JsonNode patched = switch (contentType) {
                case MERGE, STRATEGIC -> Merge.mergePatch(scale, patch);
                default -> jsonPatch(scale, patch);
            };
            replicas = patched.path("spec").path("replicas");
        } else {
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }
        if (!replicas.isIntegralNumber()) {
            return status(
                    422,
                    "Invalid",
                    "Scale.autoscaling \"" + target.name() + "\" is invalid: spec.replicas: " + "Invalid value: "
                            + replicas + ": must be an integer");
        }
        ObjectNode change = JSON.createObjectNode();
        ObjectNode at = change;
        String[] fields = paths.path("specReplicasPath").asText().substring(1).split("\\.");
        for (int i = 0; i < fields.length - 1; i++) {
            at = at.putObject(fields[i]);
        }
        at.set(fields[fields.length - 1], replicas);
        MockResponse written = patch(objectRaw, objectPath, change.toString(), MERGE);
        if (written.code() >= 300) {
            return written;
        }
        return json(200, scaleOf(stored(objectRaw, target), paths).toString());
    }

    private JsonNode scalePaths(ResourcePath target) throws KubernetesCrudDispatcherException {
        for (JsonNode version :
                storedCrd(target.group(), target.plural()).path("spec").path("versions")) {
            if (version.path("name").asText().equals(target.version())) {
                return version.path("subresources").path("scale");
            }
        }
        throw new KubernetesCrudDispatcherException("no version " + target.version(), 404);
    }

    private ObjectNode stored(String objectRaw, ResourcePath target) throws KubernetesCrudDispatcherException {
        lock.readLock().lock();
        try {
            Map.Entry<AttributeSet, String> entry = findResource(getKey(objectRaw));
            if (entry == null) {
                throw notFound(
                        "",
                        attributes(
                                objectRaw.contains("?") ? objectRaw.substring(0, objectRaw.indexOf('?')) : objectRaw));
            }
            return (ObjectNode) asNode(entry);
        } finally {
            lock.readLock().unlock();
        }
    }

    private static ObjectNode scaleOf(ObjectNode object, JsonNode paths) {
        ObjectNode scale = JSON.createObjectNode();
        scale.put("kind", "Scale");
        scale.put("apiVersion", "autoscaling/v1");
        ObjectNode metadata = scale.putObject("metadata");
        for (String field : List.of("name", "namespace", "uid", "resourceVersion", "creationTimestamp")) {
            if (object.path("metadata").has(field)) {
                metadata.set(field, object.path("metadata").get(field));
            }
        }
        scale.putObject("spec")
                .put(
                        "replicas",
                        at(object, paths.path("specReplicasPath").asText()).asInt(0));
        ObjectNode status = scale.putObject("status");
        status.put(
                "replicas",
                at(object, paths.path("statusReplicasPath").asText()).asInt(0));
        JsonNode selector = at(object, paths.path("labelSelectorPath").asText());
        if (selector.isTextual()) {
            status.put("selector", selector.asText());
        }
        return scale;
    }

    /** The value at a dotted path such as {@code .spec.replicas}, or a missing node. */
    private static JsonNode at(JsonNode object, String dotted) {
        return dotted.isEmpty()
                ? com.fasterxml.jackson.databind.node.MissingNode.getInstance()
                : object.at(dotted.replace('.', '/'));
    }

    /** The stored CRD of a custom resource kind, or null (a built-in or unknown kind). */
    private JsonNode storedCrd(String group, String plural) throws KubernetesCrudDispatcherException {
        if (group == null
                || plural == null
                || Discovery.BUILT_IN.stream().anyMatch(r -> r.group().equals(group))) {
            return null;
        }
        for (JsonNode crd : crdCache().trees) {
            if (group.equals(crd.at("/spec/group").asText())
                    && plural.equals(crd.at("/spec/names/plural").asText())) {
                return crd;
            }
        }
        return null;
    }

    /**
     * Admits the body of a POST or PUT that the base class stores, and hands it on as admitted. A status the base
     * class will ignore (status subresource, main resource) is dropped first rather than checked.
     */
    private RecordedRequest admitBody(RecordedRequest request, String path) throws KubernetesCrudDispatcherException {
        if (request.getBody() == null) {
            return request;
        }
        JsonNode body;
        try {
            body = read(new String(request.getBody().getBytes(), StandardCharsets.UTF_8)); // getBytes leaves it unread
        } catch (KubernetesCrudDispatcherException e) {
            return request; // not an object: the base class answers that
        }
        Map<String, String> at = attributes(path);
        boolean statusPath = isStatusPath(path, at);
        ObjectNode object = (ObjectNode) body;
        if (!statusPath && object.has("status") && isStatusSubresourceEnabledForResource(path)) {
            object.remove("status");
        }
        admit(path, object, statusPath);
        return new RecordedRequest(
                request.getHttpVersion(),
                request.method(),
                request.getPath(),
                request.getHeaders(),
                new Buffer(object.toString().getBytes(StandardCharsets.UTF_8)));
    }

    // ---------------------------------------------------------------- PATCH: apply, merge, strategic merge

    private MockResponse apply(String rawPath, String path, String body) throws KubernetesCrudDispatcherException {
        String manager = queryParam(rawPath, "fieldManager");
        if (manager == null || manager.isBlank()) {
            throw new KubernetesCrudDispatcherException(
                    "fieldManager: Required value: is required for apply patch", 422);
        }
        JsonNode applied = read(body);
        String kind = applied.path("kind").asText();
        String apiVersion = applied.path("apiVersion").asText();
        if (kind.isEmpty() || apiVersion.isEmpty()) {
            throw new KubernetesCrudDispatcherException("apiVersion and kind must be set in an applied object", 400);
        }
        Map<String, String> at = attributes(path);
        boolean statusPath = isStatusPath(path, at);
        if (at.get(KubernetesAttributesExtractor.NAME) == null) {
            throw new KubernetesCrudDispatcherException("apply needs the object's own path", 405, kind);
        }
        // What this apply sets: on /status only the status; otherwise everything but server-owned fields and a status
        // that is a subresource (Kubernetes ignores those in an apply to the main resource).
        ObjectNode owned = JSON.createObjectNode();
        if (statusPath) {
            if (applied.hasNonNull("status")) {
                owned.set("status", applied.get("status"));
            }
        } else {
            owned = withoutServerFields(applied);
            if (statusIsSubresource(path, at)) {
                owned.remove("status");
            }
        }
        ObjectNode fieldSet = ManagedFields.fieldSet(owned);
        String subresource = statusPath ? "status" : null;

        AttributeSet key = getKey(rawPath);
        lock.writeLock().lock();
        try {
            Map.Entry<AttributeSet, String> entry = findResource(key);
            if (entry == null) {
                if (statusPath) {
                    throw notFound(kind, at);
                }
                return create(rawPath, key, at, owned, manager, apiVersion, fieldSet);
            }
            ObjectNode current = (ObjectNode) asNode(entry);
            checkTarget(current, applied, at, kind);
            ObjectNode merged = (ObjectNode) Merge.mergePatch(current, owned);
            ManagedFields.record(merged, manager, apiVersion, subresource, fieldSet);
            return update(rawPath, key, entry, current, merged, statusPath);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Creates the object an apply names, as a POST would. */
    private MockResponse create(
            String rawPath,
            AttributeSet key,
            Map<String, String> at,
            ObjectNode owned,
            String manager,
            String apiVersion,
            ObjectNode fieldSet)
            throws KubernetesCrudDispatcherException {
        ObjectNode object = owned.deepCopy();
        ObjectNode metadata =
                object.path("metadata").isObject() ? (ObjectNode) object.get("metadata") : object.putObject("metadata");
        checkTarget(JSON.createObjectNode(), object, at, object.path("kind").asText());
        metadata.put("name", at.get(KubernetesAttributesExtractor.NAME));
        if (at.get(KubernetesAttributesExtractor.NAMESPACE) != null) {
            metadata.put("namespace", at.get(KubernetesAttributesExtractor.NAMESPACE));
        }
        metadata.put("uid", UUID.randomUUID().toString());
        metadata.put(
                "creationTimestamp",
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        metadata.put("resourceVersion", String.valueOf(requestResourceVersion()));
        metadata.put("generation", 1);
        ManagedFields.record(object, manager, apiVersion, null, fieldSet);
        admit(pathOf(rawPath), object, false);
        String json = object.toString();
        if (dryRun.get()) {
            return json(201, json);
        }
        processEvent(rawPath, key, null, null, json);
        return json(201, json);
    }

    private MockResponse patch(String rawPath, String path, String body, String contentType)
            throws KubernetesCrudDispatcherException {
        boolean jsonPatch = JSON_PATCH.equals(contentType);
        JsonNode patch = jsonPatch ? readJsonPatch(body) : read(body);
        Map<String, String> at = attributes(path);
        boolean statusPath = isStatusPath(path, at);
        AttributeSet key = getKey(rawPath);
        lock.writeLock().lock();
        try {
            Map.Entry<AttributeSet, String> entry = findResource(key);
            if (entry == null) {
                throw notFound(patch.path("kind").asText(""), at);
            }
            ObjectNode current = (ObjectNode) asNode(entry);
            ObjectNode merged = (ObjectNode)
                    switch (contentType) {
                        case JSON_PATCH -> jsonPatch(current, patch);
                        case STRATEGIC -> Merge.strategicMergePatch(current, patch);
                        default -> Merge.mergePatch(current, patch);
                    };
            // A JSON patch may set metadata anywhere: check what it made (an unchanged resourceVersion passes).
            checkTarget(
                    current,
                    jsonPatch ? merged : patch,
                    at,
                    current.path("kind").asText());
            // The server owns these, whatever the patch says.
            ObjectNode metadata = (ObjectNode) merged.get("metadata");
            for (String field :
                    List.of("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation")) {
                setOrRemove(metadata, field, current.path("metadata").get(field));
            }
            ObjectNode updated = merged;
            if (statusPath) {
                updated = current.deepCopy();
                setOrRemove(updated, "status", merged.get("status"));
            } else if (statusIsSubresource(path, at)) {
                setOrRemove(updated, "status", current.get("status"));
            }
            return update(rawPath, key, entry, current, updated, statusPath);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Stores {@code updated} in place of {@code current}, once admitted. Nothing changed: no write, same
     * resourceVersion, no watch event. Otherwise a new resourceVersion, and a new generation when anything outside
     * metadata and status changed.
     */
    private MockResponse update(
            String rawPath,
            AttributeSet key,
            Map.Entry<AttributeSet, String> entry,
            ObjectNode current,
            ObjectNode updated,
            boolean statusPath)
            throws KubernetesCrudDispatcherException {
        admit(pathOf(rawPath), updated, statusPath);
        if (updated.equals(current)) {
            return json(200, entry.getValue());
        }
        if (dryRun.get()) {
            return json(200, updated.toString());
        }
        ObjectNode metadata = (ObjectNode) updated.get("metadata");
        if (!statusPath && KubernetesCrudPersistence.shouldIncreaseGeneration(current, updated)) {
            metadata.put(
                    "generation", current.path("metadata").path("generation").asLong(0) + 1);
        }
        metadata.put("resourceVersion", String.valueOf(requestResourceVersion()));
        String json = updated.toString();
        boolean finalizersGone = !metadata.path("finalizers").isArray()
                || metadata.get("finalizers").isEmpty();
        // Marked for deletion and the last finalizer removed: the object goes, as with the base class's patches.
        processEvent(
                rawPath,
                key,
                entry.getKey(),
                null,
                metadata.hasNonNull("deletionTimestamp") && finalizersGone ? null : json);
        return json(200, json);
    }

    // ---------------------------------------------------------------- helpers

    /** The name and namespace in the body must match the path; a resourceVersion in the body is a precondition. */
    private static void checkTarget(JsonNode current, JsonNode body, Map<String, String> at, String kind)
            throws KubernetesCrudDispatcherException {
        String name = body.path("metadata").path("name").asText("");
        String pathName = at.get(KubernetesAttributesExtractor.NAME);
        if (!name.isEmpty() && !name.equals(pathName)) {
            throw new KubernetesCrudDispatcherException(
                    "the name of the object (" + name + ") does not match the name on the URL (" + pathName + ")",
                    400,
                    kind);
        }
        String namespace = body.path("metadata").path("namespace").asText("");
        String pathNamespace = at.get(KubernetesAttributesExtractor.NAMESPACE);
        if (!namespace.isEmpty() && pathNamespace != null && !namespace.equals(pathNamespace)) {
            throw new KubernetesCrudDispatcherException(
                    "the namespace of the object (" + namespace + ") does not match the namespace on the URL ("
                            + pathNamespace + ")",
                    400,
                    kind);
        }
        String version = body.path("metadata").path("resourceVersion").asText("");
        if (!version.isEmpty()
                && current.has("metadata")
                && !version.equals(
                        current.path("metadata").path("resourceVersion").asText())) {
            throw new KubernetesCrudDispatcherException(
                    String.format(
                            "Operation cannot be fulfilled on %s \"%s\": the "
                                    + "object has been modified; please apply your changes to the latest version and try again",
                            at.get(KubernetesAttributesExtractor.PLURAL), pathName),
                    409,
                    kind);
        }
    }

    /** Whether {@code path} is the status subresource (an object may itself be named "status"). */
    private static boolean isStatusPath(String path, Map<String, String> at) {
        String name = at.get(KubernetesAttributesExtractor.NAME);
        return name != null && path.endsWith("/" + name + "/status");
    }

    private static ObjectNode withoutServerFields(JsonNode object) {
        ObjectNode copy = ((ObjectNode) object).deepCopy();
        if (copy.path("metadata").isObject()) {
            ((ObjectNode) copy.get("metadata")).remove(SERVER_METADATA);
        }
        return copy;
    }

    private boolean statusIsSubresource(String path, Map<String, String> at) {
        boolean builtIn = Discovery.BUILT_IN.stream()
                .anyMatch(r -> r.plural().equals(at.get("plural"))
                        && r.group().equals(Objects.requireNonNullElse(at.get(KubernetesAttributesExtractor.API), "")));
        return builtIn ? BUILT_IN_WITH_STATUS.contains(at.get("plural")) : isStatusSubresourceEnabledForResource(path);
    }

    private Map<String, String> attributes(String path) {
        return ((KubernetesAttributesExtractor) attributeExtractor).fromKubernetesPath(path);
    }

    private static KubernetesCrudDispatcherException notFound(String kind, Map<String, String> at) {
        return new KubernetesCrudDispatcherException(
                at.get(KubernetesAttributesExtractor.PLURAL) + " \"" + at.get(KubernetesAttributesExtractor.NAME)
                        + "\" not found",
                404,
                kind);
    }

    private static void setOrRemove(ObjectNode object, String field, JsonNode value) {
        if (value == null || value.isMissingNode()) {
            object.remove(field);
        } else {
            object.set(field, value.deepCopy());
        }
    }

    private static JsonNode jsonPatch(JsonNode current, JsonNode patch) throws KubernetesCrudDispatcherException {
        try {
            return Merge.jsonPatch(current, patch);
        } catch (JsonPatchException e) {
            throw new KubernetesCrudDispatcherException("the JSON patch cannot be applied: " + e.getMessage(), 422);
        }
    }

    private static JsonNode readJsonPatch(String body) throws KubernetesCrudDispatcherException {
        try {
            JsonNode patch = JSON.readTree(body == null ? "" : body);
            if (patch == null || !patch.isArray()) {
                throw new KubernetesCrudDispatcherException("a JSON patch must be an array of operations", 400);
            }
            return patch;
        } catch (JsonProcessingException e) {
            throw new KubernetesCrudDispatcherException(
                    "cannot parse the request body: " + e.getOriginalMessage(), 400);
        }
    }

    private static String pathOf(String rawPath) {
        int question = rawPath.indexOf('?');
        return question < 0 ? rawPath : rawPath.substring(0, question);
    }

    /** A JSON or YAML object (JSON is YAML, but the JSON parser is exact about JSON's types). */
    private static JsonNode read(String body) throws KubernetesCrudDispatcherException {
        try {
            String text = body == null ? "" : body.trim();
            JsonNode node = text.startsWith("{") ? JSON.readTree(text) : YAML.readTree(text);
            if (node == null || !node.isObject()) {
                throw new KubernetesCrudDispatcherException("the request body must be an object", 400);
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new KubernetesCrudDispatcherException(
                    "cannot parse the request body: " + e.getOriginalMessage(), 400);
        }
    }

    private static String mediaType(String contentType) {
        if (contentType == null) {
            return "";
        }
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon))
                .trim()
                .toLowerCase(Locale.ROOT);
    }

    static String queryParam(String rawPath, String name) {
        int question = rawPath.indexOf('?');
        if (question < 0) {
            return null;
        }
        for (String pair : rawPath.substring(question + 1).split("&")) {
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            if (key.equals(name)) {
                return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static MockResponse status(int code, String reason, String message) {
        ObjectNode status = JSON.createObjectNode()
                .put("kind", "Status")
                .put("apiVersion", "v1")
                .put("status", "Failure")
                .put("reason", reason)
                .put("message", message)
                .put("code", code);
        return json(code, status.toString());
    }

    private static MockResponse json(int code, String body) {
        return new MockResponse()
                .setResponseCode(code)
                .setHeader("Content-Type", "application/json")
                .setBody(body);
    }
}
