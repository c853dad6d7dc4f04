#include "rewardkit/adamw.h"

#include "rewardkit/adamw_math.h"

namespace rk {

void adamw_update(float* master, const float* grad, float* m, float* v, const AdamWParams& p) {
  p.validate("adamw_update");
  RK_REQUIRE("adamw_update", p.n == 0 || (master && grad && m && v), "null buffer");
  const adamw_math::Scalars s = adamw_math::scalars(p);
#pragma omp parallel for schedule(static) if (p.n > 65536)
  for (int64_t i = 0; i < p.n; ++i) master[i] = adamw_math::update(s, master[i], grad[i], m[i], v[i]);
}

}  // namespace rk
