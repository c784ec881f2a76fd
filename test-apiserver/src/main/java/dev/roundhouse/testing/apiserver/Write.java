package dev.roundhouse.testing.apiserver;

/**
 * One write request the server received: any method but GET.
 *
 * @param method POST, PUT, PATCH or DELETE
 * @param path the request path with its query, e.g. {@code /api/v1/namespaces/default/configmaps/x?fieldManager=y}
 * @param contentType the request's Content-Type, or null when it had none
 */
public record Write(String method, String path, String contentType) {

    @Override
    public String toString() {
        return method + " " + path + (contentType == null ? "" : " (" + contentType + ")");
    }
}
