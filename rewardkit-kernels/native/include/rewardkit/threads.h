// CPU thread count of the OpenMP kernels. Tiny models (the embedded default) run faster on one
// thread: their parallel regions are shorter than a barrier on a busy machine.
#pragma once
#include "rewardkit/common.h"

namespace rk {

// Sets the OpenMP thread count for parallel regions started by the calling thread (n >= 1);
// returns the count now in effect.
int set_cpu_threads(int n);
int get_cpu_threads();

}  // namespace rk
