# librewardkit_cuda: ALWAYS produced, so the JNI glue of io.rewardkit.kernels.cuda always links.
#   * nvcc found  -> native/cuda/*.cu, real kernels for sm_80 + sm_90a, cudart linked statically
#                    (the library loads without a driver; the probe then reports the CUDA error).
#   * no nvcc     -> native/cuda_stub/*.cpp, same C API; the probe says why and every entry
#                    point throws, so Java sees one clear message instead of a link error.
# Headers (native/include/rewardkit/cuda/*.h) are plain C++: g++ compiles the JNI glue either way.
include(CheckLanguage)
option(REWARDKIT_CUDA "Build the CUDA kernels when nvcc is available" ON)

set(RK_CUDA_STUB_REASON "")
if(NOT REWARDKIT_CUDA)
  set(RK_CUDA_STUB_REASON "built without CUDA (REWARDKIT_CUDA=OFF at build time)")
else()
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    set(RK_CUDA_STUB_REASON "built without CUDA (nvcc not found at build time)")
  endif()
endif()

if(RK_CUDA_STUB_REASON)
  message(STATUS "RewardKit: ${RK_CUDA_STUB_REASON}; building the CUDA fallback library")
  file(GLOB RK_CUDA_STUB_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/native/cuda_stub/*.cpp)
  add_library(rewardkit_cuda SHARED ${RK_CUDA_STUB_SOURCES})
  target_include_directories(rewardkit_cuda PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/native/include)
  target_compile_features(rewardkit_cuda PUBLIC cxx_std_17)
  target_compile_definitions(rewardkit_cuda PRIVATE RK_CUDA_STUB_REASON="${RK_CUDA_STUB_REASON}")
  return()
endif()

enable_language(CUDA)
# Our own cache variable: CMake fills CMAKE_CUDA_ARCHITECTURES with the compiler's default (sm_75 on
# nvcc 13), which lacks bf16 mma. sm_80 covers A100/A10/L4/RTX 30-40 (and runs on H100 too);
# sm_90a adds the Hopper-specific build, as machine code only: PTX of an arch-specific ("a") target runs on
# nothing else, and sm_80's PTX already covers newer GPUs (JIT), so it would only grow the bundle.
set(REWARDKIT_CUDA_ARCHITECTURES "80;90a-real" CACHE STRING "GPU architectures for librewardkit_cuda")
file(GLOB RK_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/native/cuda/*.cu)
add_library(rewardkit_cuda SHARED ${RK_CUDA_SOURCES})
target_include_directories(rewardkit_cuda PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/native/include)
target_compile_features(rewardkit_cuda PUBLIC cxx_std_17)
set_target_properties(rewardkit_cuda PROPERTIES CUDA_ARCHITECTURES "${REWARDKIT_CUDA_ARCHITECTURES}"
                      CUDA_RUNTIME_LIBRARY Static
                      CUDA_SEPARABLE_COMPILATION OFF POSITION_INDEPENDENT_CODE ON)
# Hide the static cudart's symbols so they never interpose on Bytedeco's libcudart.so.
target_link_options(rewardkit_cuda PRIVATE -Wl,--exclude-libs,ALL)
target_compile_options(rewardkit_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo>)
message(STATUS "RewardKit: CUDA kernels for archs ${REWARDKIT_CUDA_ARCHITECTURES}")
