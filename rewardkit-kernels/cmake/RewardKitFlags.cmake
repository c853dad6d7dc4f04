# Portable CPU flags: CI's CPU model is not promised, so no -march=native.
# AVX2+FMA is the x86-64 baseline we assume (every server CPU since 2015).
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()
set(RK_CPU_FLAGS -Wall -Wextra -Wno-unused-parameter -fno-math-errno)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  list(APPEND RK_CPU_FLAGS -mavx2 -mfma)
endif()
