// Probe, device memory and stream services on the statically linked CUDA runtime.
// All memory and kernels of the Java backend go through this one runtime; Bytedeco's cuBLASLt
// only receives raw pointers and the stream handle (streams and pointers are shared by runtimes
// in one process because both sit on the device's primary context).
#include <cstdio>
#include <cstring>
#include <string>

#include "common.cuh"
#include "rewardkit/cuda/runtime.h"

namespace rk { namespace cuda {

namespace {
void write(char* buf, int64_t cap, const std::string& s) {
  if (buf == nullptr || cap <= 0) return;
  size_t n = s.size() < static_cast<size_t>(cap - 1) ? s.size() : static_cast<size_t>(cap - 1);
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
}
std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }
}  // namespace

int probe(char* buf, int64_t capacity) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear, so a later probe starts clean
    write(buf, capacity, std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (error " +
                             std::to_string(static_cast<int>(e)) + "): " + cudaGetErrorString(e));
    return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ? 0 : -static_cast<int>(e);
  }
  if (count == 0) {
    write(buf, capacity, "cudaGetDeviceCount: 0 devices");
    return 0;
  }
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  std::string out;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
    char line[512];
    std::snprintf(line, sizeof line, "%s%d: %s, sm_%d%d, %.1f GiB", d ? "; " : "", d, p.name, p.major, p.minor,
                  p.totalGlobalMem / 1073741824.0);
    out += line;
  }
  out += "; driver " + version_string(driver) + ", runtime " + version_string(runtime);
  write(buf, capacity, out);
  return count;
}

int built_with_cuda() { return 1; }

void set_device(int device) { RK_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device)); }

void* device_malloc(int64_t bytes) {
  RK_ARG("device_malloc", bytes >= 0, "negative size");
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, static_cast<size_t>(bytes > 0 ? bytes : 1));
  if (e != cudaSuccess) {
    size_t free_b = 0, total_b = 0;
    cudaGetLastError();
    cudaMemGetInfo(&free_b, &total_b);
    throw std::runtime_error("cudaMalloc(" + std::to_string(bytes) + " bytes) failed: " + cudaGetErrorString(e) +
                             " (" + std::to_string(free_b >> 20) + " MiB free of " + std::to_string(total_b >> 20) +
                             " MiB)");
  }
  return p;
}

void device_free(void* ptr) { RK_CUDA_CHECK("cudaFree", cudaFree(ptr)); }

void memcpy_h2d(void* dst, const void* src, int64_t bytes, void* stream) {
  RK_CUDA_CHECK("memcpy_h2d", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, as_stream(stream)));
  // Pageable host memory: the copy is staged before the call returns, but the Java buffer may be
  // freed right after, so wait for it.
  RK_CUDA_CHECK("memcpy_h2d", cudaStreamSynchronize(as_stream(stream)));
}

void memcpy_d2h(void* dst, const void* src, int64_t bytes, void* stream) {
  RK_CUDA_CHECK("memcpy_d2h", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, as_stream(stream)));
  RK_CUDA_CHECK("memcpy_d2h", cudaStreamSynchronize(as_stream(stream)));
}

void memcpy_d2d(void* dst, const void* src, int64_t bytes, void* stream) {
  RK_CUDA_CHECK("memcpy_d2d", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, as_stream(stream)));
}

void memset_async(void* dst, int value, int64_t bytes, void* stream) {
  RK_CUDA_CHECK("memset_async", cudaMemsetAsync(dst, value, bytes, as_stream(stream)));
}

void* stream_create() {
  cudaStream_t s = nullptr;
  RK_CUDA_CHECK("cudaStreamCreate", cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void stream_destroy(void* stream) { RK_CUDA_CHECK("cudaStreamDestroy", cudaStreamDestroy(as_stream(stream))); }

void stream_synchronize(void* stream) {
  RK_CUDA_CHECK("cudaStreamSynchronize", cudaStreamSynchronize(as_stream(stream)));
}

void check_errors(const char* where) {
  RK_CUDA_CHECK(where ? where : "check_errors", cudaGetLastError());
}

}}  // namespace rk::cuda
