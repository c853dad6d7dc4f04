#include "rewardkit/threads.h"

#include <omp.h>
#include <pthread.h>
#include <time.h>

#include <cstdlib>

namespace rk {

int set_cpu_threads(int n) {
  RK_REQUIRE("set_cpu_threads", n >= 1, "thread count must be >= 1, got " + std::to_string(n));
  omp_set_num_threads(n);
  return omp_get_max_threads();
}

int get_cpu_threads() { return omp_get_max_threads(); }

std::string env_value(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v == nullptr ? std::string() : std::string(v);
}

namespace {
long long now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
}  // namespace

long long idle_worker_cpu_ns(int idle_ms) {
  RK_REQUIRE("idle_worker_cpu_ns", idle_ms >= 1, "idle_ms must be >= 1, got " + std::to_string(idle_ms));
  clockid_t worker = 0;
  bool have = false;
  // A first region starts the team; the second, measured one, follows a warm team as in training.
  for (int round = 0; round < 2; ++round) {
#pragma omp parallel num_threads(2)
    {
      if (omp_get_thread_num() == 1) have = pthread_getcpuclockid(pthread_self(), &worker) == 0;
    }
  }
  if (!have) return -1;  // one thread only (e.g. OMP_THREAD_LIMIT=1)
  long long before = now_ns(worker);
  // Serial work on the calling thread, as the Java side does between kernels (busy, so that a spinning worker
  // has a core to spin on).
  long long end = now_ns(CLOCK_MONOTONIC) + (long long)idle_ms * 1000000LL;
  volatile unsigned sink = 0;
  while (now_ns(CLOCK_MONOTONIC) < end) sink = sink + 1;
  long long used = now_ns(worker) - before;
  // Keep the team alive until the measurement is done (the worker's clock id must stay valid).
#pragma omp parallel num_threads(2)
  { (void)0; }
  return used;
}

}  // namespace rk
