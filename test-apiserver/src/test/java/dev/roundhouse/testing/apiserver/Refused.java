package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Writes the server must refuse as a real API server does: 422, reason Invalid. */
final class Refused {

    private Refused() {}

    /** Runs {@code write}, checks that it was refused as invalid, and returns the server's Status. */
    static Status asInvalid(ThrowingCallable write) {
        KubernetesClientException refused = catchThrowableOfType(KubernetesClientException.class, write);
        assertThat(refused).as("the write should have been refused").isNotNull();
        assertThat(refused.getCode()).as(refused.getMessage()).isEqualTo(422);
        Status status = refused.getStatus();
        assertThat(status.getKind()).isEqualTo("Status");
        assertThat(status.getStatus()).isEqualTo("Failure");
        assertThat(status.getReason()).isEqualTo("Invalid");
        assertThat(status.getCode()).isEqualTo(422);
        return status;
    }
}
