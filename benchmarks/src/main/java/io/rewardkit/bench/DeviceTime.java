package io.rewardkit.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Device time of the event-timed calls in an iteration, reported by JMH as the secondary counters
 * {@code deviceNanos}/{@code deviceCalls}; zero when nothing is event-timed (CPU, or no GPU).
 */
@AuxCounters(AuxCounters.Type.EVENTS)
@State(Scope.Thread)
public class DeviceTime {
  public long deviceNanos;
  public long deviceCalls;

  @Setup(Level.Iteration)
  public void reset() {
    deviceNanos = 0;
    deviceCalls = 0;
  }

  /**
   * Runs {@code call} between the clock's events and waits for them (one call in flight at a time),
   * then counts its device time. {@code scratch} is left empty. Package-private: JMH must not see it as a counter.
   */
  void time(OpClock clock, OpTimes scratch, String key, Runnable call) {
    clock.begin();
    call.run();
    clock.end(key);
    clock.flush(scratch);
    deviceNanos += scratch.totalNanos();
    deviceCalls++;
    scratch.clear();
  }
}
