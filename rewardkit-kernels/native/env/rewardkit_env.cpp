// librewardkit_env: sets the thread environment of the CPU kernels before libgomp and OpenBLAS read it.
//
// Both libraries read their environment once, when they are loaded (libgomp in its constructor, OpenBLAS
// when it starts its thread pool), so a setenv from Java after loading them is too late. JavaCPP preloads this
// library first (RewardKitCpu's preload list names it before gomp), and its constructor runs on dlopen:
//   OPENBLAS_NUM_THREADS=1   always: OpenBLAS runs single-threaded inside our own OpenMP stripes (gemm.cpp),
//                            so it never starts a pthread pool that would spin against libgomp's.
//   OMP_WAIT_POLICY=PASSIVE  unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT: idle OpenMP workers sleep
//                            on a futex instead of spinning while the Java thread runs between kernels.
// It links nothing but libc and must not link libgomp (that would load libgomp before the constructor ran).
#include <cstdlib>

namespace {

__attribute__((constructor)) void rewardkit_thread_env() {
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  if (getenv("OMP_WAIT_POLICY") == nullptr && getenv("GOMP_SPINCOUNT") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  }
}

}  // namespace
