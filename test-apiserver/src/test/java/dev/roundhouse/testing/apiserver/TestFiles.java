package dev.roundhouse.testing.apiserver;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** Files under src/test/resources. */
final class TestFiles {

  static final Path WIDGET_CRD = resource("crds/widgets.test.roundhouse.dev-v1.yml");
  static final Path SERVICE_MONITOR_CRD = resource("crds/servicemonitors.monitoring.coreos.com-v1.yml");

  private TestFiles() {
  }

  static Path resource(String name) {
    try {
      return Path.of(TestFiles.class.getClassLoader().getResource(name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
