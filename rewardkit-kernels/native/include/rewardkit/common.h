// Shared helpers for the CPU reference kernels.
// Conventions (all ops):
//   * buffers are dense row-major; every pointer is annotated with its shape in the op's header;
//   * packed token layout: T = total tokens of a batch, sequences delimited by cu_seqlens[S+1];
//   * each op validates its arguments once at the API boundary (the non-template overloads)
//     and throws std::invalid_argument, which JavaCPP turns into a Java RuntimeException;
//   * backward ops ACCUMULATE into parameter gradients (dw += ...) and OVERWRITE input
//     gradients (dx = ...), unless the header says otherwise.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace rk {

[[noreturn]] inline void fail(const std::string& op, const std::string& what) {
  throw std::invalid_argument(op + ": " + what);
}

#define RK_REQUIRE(op, cond, what) \
  do { if (!(cond)) ::rk::fail(op, what); } while (0)

}  // namespace rk
