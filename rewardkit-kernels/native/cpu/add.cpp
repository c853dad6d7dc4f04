#include "rewardkit/add.h"

namespace rk {
namespace {

void validate(const char* op, const AddParams& p) {
  RK_REQUIRE(op, p.n >= 0, "n must be >= 0, got " + std::to_string(p.n));
}

// out = a + b; add_inplace is add(acc, acc, x). out may alias a or b: each element is read before it is written.
template <typename T>
void add(T* out, const T* a, const T* b, const AddParams& p) {
  // Memory bound: threads only pay off once the arrays outgrow a core's cache.
#pragma omp parallel for simd schedule(static) if (p.n > 262144)
  for (int64_t i = 0; i < p.n; ++i) out[i] = a[i] + b[i];
}

}  // namespace

#define RK_ADD_API(T)                                                                          \
  void add_inplace(T* acc, const T* x, int64_t n) {                                            \
    const AddParams p{n};                                                                      \
    validate("add_inplace", p);                                                                \
    add(acc, acc, x, p);                                                                       \
  }                                                                                            \
  void add_out(T* out, const T* a, const T* b, int64_t n) {                                    \
    const AddParams p{n};                                                                      \
    validate("add_out", p);                                                                    \
    add(out, a, b, p);                                                                         \
  }
RK_ADD_API(float)
RK_ADD_API(double)

}  // namespace rk
