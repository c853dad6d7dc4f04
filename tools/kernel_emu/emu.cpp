// Emulator runtime (see emu.h): thread pool per launch, block barriers, warp-wide MMA.
#include "emu.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace emu {
thread_local Ctx ctx;

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
}}}  // namespace rk::cuda::flash
