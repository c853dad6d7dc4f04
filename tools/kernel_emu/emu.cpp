// Emulator runtime (see emu.h): thread pool per launch, block barriers, warp-wide MMA.
#include "emu.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace emu {
thread_local Ctx ctx;

// cp.async state of one emulated thread: copies issued since the last commit, then committed groups, oldest
// first. A copy lands only when a wait retires its group; until then its destination holds poison (0xff bytes:
// bf16 NaN), since on the GPU its contents are undefined there: a read before the wait (or, for another
// thread's copy, before the barrier after it) shows as NaN in the results.
namespace {
struct AsyncCopy {
  void* dst;
  const void* src;
  bool fill;
};
thread_local std::vector<AsyncCopy> async_open;
thread_local std::vector<std::vector<AsyncCopy>> async_groups;
}  // namespace

void cp_async(void* dst, const void* src, bool fill) {
  if (reinterpret_cast<uintptr_t>(dst) % 16 != 0 || reinterpret_cast<uintptr_t>(src) % 16 != 0) {
    std::fprintf(stderr, "cp.async: thread %u: address not 16-byte aligned (dst %p, src %p)\n", linear_tid(), dst, src);
    std::abort();
  }
  std::memset(dst, 0xff, 16);
  async_open.push_back({dst, src, fill});
}

void cp_async_commit() {
  async_groups.push_back(std::move(async_open));
  async_open.clear();
}

void cp_async_wait(int n) {
  while (static_cast<int>(async_groups.size()) > n) {
    for (const AsyncCopy& c : async_groups.front()) {
      if (c.fill) std::memcpy(c.dst, c.src, 16);
      else std::memset(c.dst, 0, 16);
    }
    async_groups.erase(async_groups.begin());
  }
}

static void check_async_drained() {
  if (!async_open.empty() || !async_groups.empty()) {
    std::fprintf(stderr, "cp.async: thread %u of block (%u,%u,%u) exits with %zu uncommitted copies and %zu groups in flight\n",
                 linear_tid(), ctx.bid.x, ctx.bid.y, ctx.bid.z, async_open.size(), async_groups.size());
    std::abort();
  }
}

Block::Block(int threads) : bar(threads) {
  for (int w = 0; w < (threads + 31) / 32; ++w) warp_bar.push_back(std::make_unique<std::barrier<>>(std::min(32, threads - 32 * w)));
}

unsigned char* dynamic_smem() {
  alignas(16) static unsigned char buf[1 << 18];
  return buf;
}

void run(dim3 grid, dim3 block, const std::function<void()>& body) {
  const int threads = static_cast<int>(block.x * block.y * block.z);
  Block blk(threads);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      ctx.tid = make_uint3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
      ctx.gdim = grid;
      ctx.bdim = block;
      ctx.blk = &blk;
      for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
          for (unsigned x = 0; x < grid.x; ++x) {
            ctx.bid = make_uint3(x, y, z);
            body();
            check_async_drained();
            blk.bar.arrive_and_wait();  // the block is done before the next one reuses shared state
          }
    });
  for (auto& t : pool) t.join();
}
}  // namespace emu

namespace rk { namespace cuda { namespace flash {
static float bf_lo(uint32_t v) { uint32_t x = (v & 0xffffu) << 16; float f; std::memcpy(&f, &x, 4); return f; }
static float bf_hi(uint32_t v) { uint32_t x = v & 0xffff0000u; float f; std::memcpy(&f, &x, 4); return f; }

// Warp-wide D = A·B + C with the PTX m16n8k16 fragment layout (see flash_common.cuh).
void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  emu::Block* blk = emu::ctx.blk;
  const unsigned t0 = emu::linear_tid(), w = t0 / 32, lane = t0 % 32, g = lane >> 2, t = lane & 3;
  std::memcpy(blk->a[w][lane], a, 16);
  std::memcpy(blk->b[w][lane], b, 8);
  blk->warp_bar[w]->arrive_and_wait();
  for (int e = 0; e < 4; ++e) {
    const int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
    float acc = c[e];
    for (int k = 0; k < 16; ++k) {
      const uint32_t av = blk->a[w][(row % 8) * 4 + (k % 8) / 2][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)];
      const uint32_t bv = blk->b[w][col * 4 + (k % 8) / 2][k >= 8 ? 1 : 0];
      acc += ((k & 1) ? bf_hi(av) : bf_lo(av)) * ((k & 1) ? bf_hi(bv) : bf_lo(bv));
    }
    c[e] = acc;
  }
  blk->warp_bar[w]->arrive_and_wait();
}
// Warp-wide ldmatrix.m8n8.x4(.trans).b16: every lane posts its row address, then reads its fragments.
static void ldmatrix(uint32_t r[4], const __nv_bfloat16* row, bool trans) {
  emu::Block* blk = emu::ctx.blk;
  const unsigned t0 = emu::linear_tid(), w = t0 / 32, lane = t0 % 32;
  if (reinterpret_cast<uintptr_t>(row) % 16 != 0) {
    std::fprintf(stderr, "ldmatrix: lane %u row address %p is not 16-byte aligned\n", lane, (const void*)row);
    std::abort();
  }
  blk->rows[w][lane] = row;
  blk->warp_bar[w]->arrive_and_wait();
  for (int m = 0; m < 4; ++m) {
    uint16_t lo, hi;
    if (!trans) {  // row lane / 4 of matrix m, elements 2 (lane % 4) and +1
      const auto* p = static_cast<const uint16_t*>(blk->rows[w][8 * m + lane / 4]);
      lo = p[2 * (lane % 4)];
      hi = p[2 * (lane % 4) + 1];
    } else {       // column lane / 4 of matrix m, rows 2 (lane % 4) and +1
      lo = static_cast<const uint16_t*>(blk->rows[w][8 * m + 2 * (lane % 4)])[lane / 4];
      hi = static_cast<const uint16_t*>(blk->rows[w][8 * m + 2 * (lane % 4) + 1])[lane / 4];
    }
    r[m] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
  }
  blk->warp_bar[w]->arrive_and_wait();
}
void ldmatrix_x4(uint32_t r[4], const __nv_bfloat16* row) { ldmatrix(r, row, false); }
void ldmatrix_x4_trans(uint32_t r[4], const __nv_bfloat16* row) { ldmatrix(r, row, true); }
void cp_async16(void* smem_dst, const void* gmem_src, bool fill) { emu::cp_async(smem_dst, gmem_src, fill); }
void cp_async_commit() { emu::cp_async_commit(); }
void cp_async_wait_pending(int n) { emu::cp_async_wait(n); }
}}}  // namespace rk::cuda::flash
