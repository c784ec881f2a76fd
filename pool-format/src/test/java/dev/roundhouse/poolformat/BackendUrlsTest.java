package dev.roundhouse.poolformat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BackendUrlsTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "http://Example.COM           | http://example.com:80",
                "https://example.com          | https://example.com:443",
                "HTTPS://example.com:8443/    | https://example.com:8443",
                "http://10.0.0.1:8080         | http://10.0.0.1:8080",
                "http://0.0.0.0:8080          | http://0.0.0.0:8080",
                "http://255.255.255.255       | http://255.255.255.255:80",
                "http://[::1]:8080            | http://[::1]:8080",
                "http://[::1]                 | http://[::1]:80",
                "http://backend.ns.svc:65535  | http://backend.ns.svc:65535",
                "http://backend:1             | http://backend:1",
            })
    void normalisesToSchemeHostAndExplicitPort(String url, String expected) {
        assertThat(BackendUrls.parse(url)).isEqualTo(URI.create(expected));
        assertThat(BackendUrls.key(url)).isEqualTo(expected);
    }

    @Test
    void spellingsOfTheSameOriginShareAKey() {
        assertThat(BackendUrls.key("http://Backend")).isEqualTo(BackendUrls.key("http://backend:80/"));
        assertThat(BackendUrls.key("http://backend:8080")).isNotEqualTo(BackendUrls.key("https://backend:8080"));
    }

    @Test
    void answersTheSameEveryTimeAndNeverRemembersARejection() {
        // URLs already validated are remembered (a reload sees the same ones several times): the answer must not change
        URI first = BackendUrls.parse("http://Remembered.example:8080/");
        assertThat(BackendUrls.parse("http://Remembered.example:8080/")).isEqualTo(first);
        assertThat(BackendUrls.parse(first.toString())).isEqualTo(first); // the normalised form is its own key
        assertThat(first).hasToString("http://remembered.example:8080");
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> BackendUrls.parse("http://remembered.example:8080/api"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("path is not allowed");
        }
    }

    @Test
    void keepsAnsweringPastTheBoundOfWhatItRemembers() {
        for (int port = 1; port <= 5000; port++) { // more than it keeps: it starts afresh on the way
            assertThat(BackendUrls.key("http://10.0.0.1:" + port + "/")).isEqualTo("http://10.0.0.1:" + port);
        }
        assertThat(BackendUrls.key("http://10.0.0.1:1/")).isEqualTo("http://10.0.0.1:1");
    }

    @ParameterizedTest(name = "''{0}''")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "\"\"                     | url is empty",
                "ftp://example.com        | scheme must be http or https, got 'ftp'",
                "example.com:80           | must be an absolute URL",
                "/backends/a              | must be an absolute URL",
                "http:opaque              | must be an absolute URL",
                "http://user:pw@backend   | user info is not allowed",
                "http://backend?x=1       | query is not allowed",
                "http://backend?          | query is not allowed",
                "http://backend#top       | fragment is not allowed",
                "http://backend/api       | path is not allowed",
                "http://backend:0         | port must be between 1 and 65535, got 0",
                "http://backend:65536     | port must be between 1 and 65535, got 65536",
                "http://:8080             | host is required",
                "http:///                 | host is required",
                "http://my_backend        | 'my_backend' is not host[:port]",
                "http://backend:http      | 'backend:http' is not host[:port]",
                "http://256.0.0.1         | '256.0.0.1' is not host[:port]",
                "http://123               | host '123' is not a valid IPv4 address",
                "http://010.0.0.1         | host '010.0.0.1' is not a valid IPv4 address",
                "http://10.0.0.01         | host '10.0.0.01' is not a valid IPv4 address",
                "http://1.2.3.4.5         | '1.2.3.4.5' is not host[:port]",
                "http://1.2..4            | '1.2..4' is not host[:port]",
                "http://1.2.3.1000        | '1.2.3.1000' is not host[:port]",
                "http://back end          | not a valid URL",
                "http://[::g]             | not a valid URL",
            })
    void rejectsWithTheReason(String url, String reason) {
        assertThatThrownBy(() -> BackendUrls.parse(url))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void rejectsNull() {
        assertThatThrownBy(() -> BackendUrls.parse(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty");
    }
}
