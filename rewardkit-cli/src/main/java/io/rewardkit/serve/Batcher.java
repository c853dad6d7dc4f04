package io.rewardkit.serve;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.Packer;
import io.rewardkit.eval.Scorer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Dynamic batching: requests' sequences wait in a bounded queue (bounded in tokens) until either a
 * batch's worth of tokens is waiting or the oldest request has waited {@code maxWaitMs}; then one
 * engine thread takes whole requests from the head up to the token budget, bins their sequences with
 * the training {@link Packer#plan} (first-fit-decreasing by token budget), runs each bin as one varlen
 * batch (no padding) and hands each request its own rewards. A sequence's reward never depends on
 * its batch companions: sequences in a varlen batch do not attend to each other.
 */
public final class Batcher implements AutoCloseable {

  /** The model's inference forward: rewards [R] of a batch's readouts. Called on the engine thread only. */
  @FunctionalInterface
  public interface Forward {
    float[] score(PackedBatch batch);
  }

  private static final class Job {
    final List<int[]> seqs;
    final long tokens;
    final long enqueued = System.nanoTime();
    final CompletableFuture<float[]> result = new CompletableFuture<>();

    Job(List<int[]> seqs, long tokens) {
      this.seqs = seqs;
      this.tokens = tokens;
    }
  }

  private final Forward forward;
  private final int readoutToken;
  private final int budget;
  private final long maxWaitNanos;
  private final long maxQueueTokens;
  private final ServeMetrics metrics;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Job> queue = new ArrayDeque<>();
  private long queuedTokens;
  private boolean closing;
  private final Thread engine;

  /** Starts the engine thread; {@code onEngineStart} runs on it first (e.g. per-thread kernel settings). */
  public Batcher(Forward forward, int readoutToken, int budget, int maxWaitMs, long maxQueueTokens, ServeMetrics metrics,
      Runnable onEngineStart) {
    this.forward = forward;
    this.readoutToken = readoutToken;
    this.budget = budget;
    this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMs);
    this.maxQueueTokens = maxQueueTokens;
    this.metrics = metrics;
    this.engine = new Thread(() -> {
      if (onEngineStart != null) onEngineStart.run();
      loop();
    }, "rewardkit-batcher");
    engine.setDaemon(true);
    engine.start();
  }

  /**
   * Queues one request's sequences ({@link io.rewardkit.data.ResponseEncoder} output, at most the budget long).
   * Refuses with 429 (queue full, Retry-After) or 503 (shutting down); never blocks.
   */
  public CompletableFuture<float[]> submit(List<int[]> seqs) {
    long tokens = 0;
    for (int[] s : seqs) {
      if (s.length > budget) throw new IllegalArgumentException("sequence of " + s.length + " tokens > batch budget " + budget);
      tokens += s.length;
    }
    if (tokens > maxQueueTokens) {
      throw new ApiException(413, "too_large", null, "the request needs " + tokens + " tokens, more than the server's queue holds ("
          + maxQueueTokens + ", --max_queue_tokens); split it");
    }
    Job job = new Job(List.copyOf(seqs), tokens);
    if (seqs.isEmpty()) {
      job.result.complete(new float[0]);
      return job.result;
    }
    lock.lock();
    try {
      if (closing) throw new ApiException(503, "shutting_down", null, "the server is shutting down", 1);
      if (queuedTokens + tokens > maxQueueTokens) {
        throw new ApiException(429, "queue_full", null, "the queue is full (" + queuedTokens + " of " + maxQueueTokens
            + " tokens waiting); retry later", 1);
      }
      queue.addLast(job);
      queuedTokens += tokens;
      gauges();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    return job.result;
  }

  /** Removes a request that is still waiting (e.g. timed out); false if it already runs or ran. */
  public boolean cancel(CompletableFuture<float[]> result) {
    lock.lock();
    try {
      for (var it = queue.iterator(); it.hasNext(); ) {
        Job j = it.next();
        if (j.result == result) {
          it.remove();
          queuedTokens -= j.tokens;
          gauges();
          return true;
        }
      }
      return false;
    } finally {
      lock.unlock();
    }
  }

  /** Tokens waiting now. */
  public long queuedTokens() {
    lock.lock();
    try {
      return queuedTokens;
    } finally {
      lock.unlock();
    }
  }

  private void gauges() {
    metrics.queueTokens.set(queuedTokens);
    metrics.queueRequests.set(queue.size());
  }

  private void loop() {
    while (true) {
      List<Job> round = new ArrayList<>();
      lock.lock();
      try {
        while (queue.isEmpty() && !closing) changed.awaitUninterruptibly();
        if (queue.isEmpty()) return; // closing and drained
        long deadline = queue.peekFirst().enqueued + maxWaitNanos;
        while (!closing && queuedTokens < budget) {
          long left = deadline - System.nanoTime();
          if (left <= 0) break;
          try {
            changed.awaitNanos(left);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
          if (queue.isEmpty()) break; // the waiting request was cancelled
        }
        long taken = 0;
        while (!queue.isEmpty()) {
          Job j = queue.peekFirst();
          if (!round.isEmpty() && taken + j.tokens > budget) break;
          queue.pollFirst();
          queuedTokens -= j.tokens;
          taken += j.tokens;
          round.add(j);
        }
        gauges();
      } finally {
        lock.unlock();
      }
      if (!round.isEmpty()) run(round);
    }
  }

  /** Packs the round's sequences into budget-sized bins and scores them; each job gets its own rewards. */
  private void run(List<Job> round) {
    try {
      List<int[]> seqs = new ArrayList<>();
      List<Job> owner = new ArrayList<>();
      List<Integer> index = new ArrayList<>();
      for (Job j : round) {
        if (j.result.isDone()) continue; // timed out meanwhile
        for (int k = 0; k < j.seqs.size(); k++) {
          seqs.add(j.seqs.get(k));
          owner.add(j);
          index.add(k);
        }
      }
      if (seqs.isEmpty()) return;
      metrics.batchRequests.observe(round.size());
      int[] sizes = new int[seqs.size()];
      for (int i = 0; i < sizes.length; i++) sizes[i] = seqs.get(i).length;
      IdentityHashMap<Job, float[]> out = new IdentityHashMap<>();
      for (Job j : round) out.put(j, new float[j.seqs.size()]);
      for (int[] bin : Packer.plan(sizes, budget, 0L, 0)) {
        List<int[]> part = new ArrayList<>(bin.length);
        long tokens = 0;
        for (int i : bin) {
          part.add(seqs.get(i));
          tokens += sizes[i];
        }
        long t0 = System.nanoTime();
        float[] r = Scorer.scoreBin(forward::score, part, readoutToken); // rewardkit score's batches
        double sec = (System.nanoTime() - t0) / 1e9;
        metrics.forwardSeconds.observe(sec);
        metrics.batchSequences.observe(bin.length);
        metrics.batchTokens.observe(tokens);
        metrics.tokens.inc(tokens);
        metrics.sequences.inc(bin.length);
        if (sec > 0) metrics.tokensPerSecond.set(tokens / sec);
        for (int k = 0; k < bin.length; k++) out.get(owner.get(bin[k]))[index.get(bin[k])] = r[k];
      }
      for (Job j : round) j.result.complete(out.get(j));
    } catch (Throwable t) {
      for (Job j : round) j.result.completeExceptionally(t);
    }
  }

  /** Stops taking requests (503), scores everything already queued, then stops the engine thread. */
  @Override
  public void close() {
    lock.lock();
    try {
      closing = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    try {
      engine.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
