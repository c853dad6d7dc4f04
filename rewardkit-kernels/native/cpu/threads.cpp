#include "rewardkit/threads.h"

#include <omp.h>

namespace rk {

int set_cpu_threads(int n) {
  RK_REQUIRE("set_cpu_threads", n >= 1, "thread count must be >= 1, got " + std::to_string(n));
  omp_set_num_threads(n);
  return omp_get_max_threads();
}

int get_cpu_threads() { return omp_get_max_threads(); }

}  // namespace rk
