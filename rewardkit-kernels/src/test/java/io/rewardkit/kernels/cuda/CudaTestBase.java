package io.rewardkit.kernels.cuda;

import io.rewardkit.kernels.CpuBackend;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

/**
 * Fixture shared by the GPU tests (tag {@code gpu}, inherited: {@code mvn -B verify -Dgroups=gpu} runs
 * only them): a fresh CUDA backend per test (the test is skipped without a device), the CPU reference
 * backend, and a seeded random source. The seed is fixed per test (the base seed mixed with the test's
 * class and display name, so each parameter case draws its own inputs and every run draws the same);
 * a failure names it, and {@code -Drewardkit.test.seed=BASE} reruns with another base. The GPU backend
 * is closed after each test.
 */
@Tag("gpu")
@ExtendWith(CudaTestBase.SeedOnFailure.class)
abstract class CudaTestBase {
  static final long BASE_SEED = Long.getLong("rewardkit.test.seed", 20261201L);

  protected CudaBackend gpu;
  protected CpuBackend cpu;
  protected Random rnd;
  protected long seed;

  @BeforeEach
  void openBackends(TestInfo info) {
    seed = BASE_SEED * 1_000_003L + (getClass().getName() + "#" + info.getDisplayName()).hashCode();
    rnd = new Random(seed);
    gpu = CudaTestSupport.gpu();
    cpu = new CpuBackend();
  }

  @AfterEach
  void closeGpu() {
    if (gpu != null) gpu.close();
  }

  /** Puts the test's seed into a failure's message (skips pass through untouched). */
  static final class SeedOnFailure implements TestExecutionExceptionHandler {
    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable t) throws Throwable {
      if (t instanceof TestAbortedException || !(context.getTestInstance().orElse(null) instanceof CudaTestBase test)) throw t;
      throw new AssertionError(t.getMessage() + " [seed " + test.seed + " from base " + BASE_SEED
          + "; rerun with -Drewardkit.test.seed=" + BASE_SEED + "]", t);
    }
  }
}
