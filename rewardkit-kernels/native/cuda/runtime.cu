// Probe, device memory and stream services on the statically linked CUDA runtime.
// All memory and kernels of the Java backend go through this one runtime; Bytedeco's cuBLASLt
// only receives raw pointers and the stream handle (streams and pointers are shared by runtimes
// in one process because both sit on the device's primary context).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

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

namespace {
// Host -> device uploads without a synchronise each: the caller's bytes (pageable, and a Java buffer freed
// right after the call) are copied into a pinned ring, the DMA from there runs asynchronously on the stream,
// and an event per piece says when its span of the ring may be written again. The host waits only when the
// ring comes round to a span whose copy is still in flight. Pieces are at most a quarter of the ring, so a
// large upload (the weights at load) streams through it. REWARDKIT_SYNC_UPLOADS=1, or a failed pinned
// allocation, selects the plain path: cudaMemcpyAsync from the caller's memory, then a stream synchronise.
class UploadRing {
 public:
  void upload(void* dst, const void* src, int64_t bytes, cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready()) {
      RK_CUDA_CHECK("memcpy_h2d", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
      RK_CUDA_CHECK("memcpy_h2d", cudaStreamSynchronize(stream));
      return;
    }
    for (int64_t off = 0; off < bytes;) {
      const int64_t n = bytes - off < kCap / 4 ? bytes - off : kCap / 4;
      if (head_ + n > kCap) head_ = 0;
      wait_for(head_, head_ + n);
      std::memcpy(buf_ + head_, static_cast<const char*>(src) + off, n);
      RK_CUDA_CHECK("memcpy_h2d", cudaMemcpyAsync(static_cast<char*>(dst) + off, buf_ + head_, n,
                                                 cudaMemcpyHostToDevice, stream));
      cudaEvent_t done = take_event();
      RK_CUDA_CHECK("memcpy_h2d", cudaEventRecord(done, stream));
      inflight_.push_back({head_, head_ + n, done});
      head_ += n;
      off += n;
    }
  }

 private:
  static constexpr int64_t kCap = 64 << 20;
  struct Span {
    int64_t begin, end;
    cudaEvent_t done;
  };

  bool ready() {
    if (state_ == 0) {
      const char* env = std::getenv("REWARDKIT_SYNC_UPLOADS");
      void* p = nullptr;
      if ((env == nullptr || std::strcmp(env, "1") != 0) && cudaHostAlloc(&p, kCap, cudaHostAllocDefault) == cudaSuccess) {
        buf_ = static_cast<char*>(p);  // process lifetime: freeing it at exit would race the runtime's teardown
        state_ = 1;
      } else {
        cudaGetLastError();  // a failed pinned allocation is not a sticky error; use the plain path
        state_ = -1;
      }
    }
    return state_ > 0;
  }

  // Blocks until no copy still reading [begin, end) of the ring is in flight; retires finished spans.
  void wait_for(int64_t begin, int64_t end) {
    size_t keep = 0;
    for (size_t i = 0; i < inflight_.size(); ++i) {
      Span& s = inflight_[i];
      if (s.begin < end && begin < s.end) RK_CUDA_CHECK("memcpy_h2d", cudaEventSynchronize(s.done));
      const cudaError_t q = cudaEventQuery(s.done);
      if (q == cudaSuccess) {
        spare_.push_back(s.done);
      } else if (q == cudaErrorNotReady) {
        inflight_[keep++] = s;
      } else {
        cuda_fail("memcpy_h2d", q);
      }
    }
    inflight_.resize(keep);
  }

  cudaEvent_t take_event() {
    if (!spare_.empty()) {
      cudaEvent_t e = spare_.back();
      spare_.pop_back();
      return e;
    }
    cudaEvent_t e = nullptr;
    RK_CUDA_CHECK("memcpy_h2d", cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    return e;
  }

  std::mutex mu_;
  int state_ = 0;  // 0: not yet set up, 1: pinned ring, -1: plain synchronous path
  char* buf_ = nullptr;
  int64_t head_ = 0;
  std::vector<Span> inflight_;
  std::vector<cudaEvent_t> spare_;
};

UploadRing& upload_ring() {
  static UploadRing* ring = new UploadRing();  // never destroyed (see ready())
  return *ring;
}
}  // namespace

void memcpy_h2d(void* dst, const void* src, int64_t bytes, void* stream) {
  if (bytes <= 0) return;
  upload_ring().upload(dst, src, bytes, as_stream(stream));
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
