// CPU thread count of the OpenMP kernels. Tiny models (the embedded default) run faster on one
// thread: their parallel regions are shorter than a barrier on a busy machine.
#pragma once
#include "rewardkit/common.h"

namespace rk {

// Sets the OpenMP thread count for parallel regions started by the calling thread (n >= 1);
// returns the count now in effect.
int set_cpu_threads(int n);
int get_cpu_threads();

// The process environment's value of `name` as native code sees it ("" when unset): librewardkit_env sets
// OPENBLAS_NUM_THREADS and OMP_WAIT_POLICY before libgomp loads.
std::string env_value(const std::string& name);

// CPU time in nanoseconds that the idle OpenMP workers of a 2-thread team burn while the calling thread does
// `idle_ms` milliseconds of serial work right after a parallel region: ~0 when they sleep (passive wait
// policy), up to the spin time when they spin. For tests and diagnostics.
long long idle_worker_cpu_ns(int idle_ms);

}  // namespace rk
