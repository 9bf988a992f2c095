// Keeps worker chatter (INFO lines per state change) out of test output; warnings and errors still show.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { forward: {}, filter: 'ERROR' } },
  });
} catch {
  // already installed in this jest worker process
}
