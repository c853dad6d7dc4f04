package io.rewardkit.bench;

/**
 * Measures the time of individual backend ops. On CPU ops are synchronous, so the host clock around
 * a call is the op's time. On a GPU the clock records device events around each launch and reads
 * them at {@link #flush()}, so timing does not serialise host and device.
 */
public interface OpClock extends AutoCloseable {
  /** Marks the start of an op. */
  void begin();

  /** Marks the end of the op started by the last {@link #begin()}, charging it to {@code key}. */
  void end(String key);

  /** Waits for outstanding measurements and adds them to {@code sink} (key -> nanoseconds, call count). */
  void flush(OpTimes sink);

  @Override
  default void close() {}

  /** Host wall clock: right for synchronous (CPU) backends. */
  final class Host implements OpClock {
    private long start;
    private final OpTimes pending = new OpTimes();

    @Override public void begin() { start = System.nanoTime(); }
    @Override public void end(String key) { pending.add(key, System.nanoTime() - start, 1); }
    @Override public void flush(OpTimes sink) {
      sink.addAll(pending);
      pending.clear();
    }
  }
}
