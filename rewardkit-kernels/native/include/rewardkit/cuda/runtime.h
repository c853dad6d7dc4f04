// CUDA runtime services for the Java backend: GPU probe, device memory, one stream.
// Plain C++ (no CUDA headers) so g++ compiles the JNI glue whether or not nvcc exists.
// Device pointers are raw addresses; a stream is a cudaStream_t passed as void*.
// Every function throws std::runtime_error with the CUDA error string on failure; in a library
// built without nvcc every function except probe() throws "built without CUDA ...".
#pragma once
#include <cstdint>

namespace rk { namespace cuda {

// Looks for GPUs. Returns the device count (> 0) and writes one line per device
// ("0: NVIDIA H100 80GB HBM3, sm_90, 79.2 GiB; driver 13.0, runtime 13.0") into buf,
// or returns <= 0 and writes the reason (e.g. the cudaGetDeviceCount error string).
// Never throws: this is what `rewardkit info` calls on machines without a driver.
int probe(char* buf, int64_t capacity);

// 1 when this library holds real kernels, 0 for the no-nvcc fallback.
int built_with_cuda();

void set_device(int device);
void* device_malloc(int64_t bytes);  // throws on out-of-memory, with the requested size
void device_free(void* ptr);
// Async on the stream: src is staged in a pinned ring (it may be freed or reused as soon as this returns);
// the host waits only when the ring wraps onto a copy still in flight (runtime.cu).
void memcpy_h2d(void* dst, const void* src, int64_t bytes, void* stream);
void memcpy_d2h(void* dst, const void* src, int64_t bytes, void* stream);  // waits for completion
void memcpy_d2d(void* dst, const void* src, int64_t bytes, void* stream);
void memset_async(void* dst, int value, int64_t bytes, void* stream);
void* stream_create();
void stream_destroy(void* stream);
void stream_synchronize(void* stream);
// Raises the first asynchronous kernel error seen so far (sticky errors included).
void check_errors(const char* where);

}}  // namespace rk::cuda
