// The AMX micro-kernel (contract in bf16.h): tdpbf16ps on tiles of packed bf16 pairs.
//
// Note [AMX tile]: a 32 x 32 block of sums in four 16 x 16 fp32 tiles (tmm0-3). Per 16
// pairs of depth the kernel loads two A tiles (rows 0-15 and 16-31: 16 rows of 16 pair
// words, 1 KiB each, contiguous in the AMX layout of A) and two B tiles (columns 0-15 and
// 16-31 of the B panel's next 16 pairs, rows 128 bytes apart), then issues four
// tdpbf16ps (16 x 16 x 32 multiply-adds each): 4 KiB of loads for 64 K flops. A last
// group of fewer than 16 pairs is padded with zeros (A by its packing, B here). Measured
// here: 3.1 TFLOP/s from L1 in a loop of this shape, 14x the fp32 FMA loop.
//
// The tiles' arithmetic is not vdpbf16ps's: on 512k lanes it matched neither order of
// the pair's products nor one rounding of the exact sum (tests/test_bf16.py bounds its
// error instead). The driver configures the tiles at the start of each task and releases
// them at its end: another library in the process (oneDNN) may configure or release them
// on this thread between our calls, and a tile instruction on unconfigured tiles faults.
// The configuration costs ~50 ns, 2.5% of a 96 x 32 x 1024 task; a 32-row product gets
// several panels a task.
#include "gemm/bf16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace pydl::gemm {

namespace {

// ldtilecfg's 64 bytes: palette 1, all eight tiles 16 rows of 64 bytes. A constant in
// memory: built on the stack, GCC 12 dropped the stores of the rows and widths (it does not
// see that ldtilecfg reads them), and ldtilecfg faulted on the garbage.
struct alignas(64) TileConfig {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};
constexpr TileConfig kTileConfig = {
    1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

constexpr int kGroup = kBf16AmxGroup;  // pairs per tile step: 16 rows of B, 64 bytes of A

}  // namespace

__attribute__((target("amx-tile"))) void amx_tiles_configure() { _tile_loadconfig(&kTileConfig); }

__attribute__((target("amx-tile"))) void amx_tiles_release() { _tile_release(); }

__attribute__((target("amx-tile,amx-bf16,avx512f"))) void amx_tile_block(
    int64_t tiles, int64_t kp, const uint32_t* a, int64_t a_tile_words, const uint32_t* b,
    float (*sums)[kBf16AmxMR][kBf16NR]) {
    const int64_t groups = kp / kGroup, tail = kp % kGroup;
    alignas(64) uint32_t b_tail[kGroup][kBf16NR];
    if (tail) {
        std::memcpy(b_tail, b + groups * kGroup * kBf16NR, sizeof(uint32_t) * tail * kBf16NR);
        std::memset(b_tail[tail], 0, sizeof(uint32_t) * (kGroup - tail) * kBf16NR);
    }
    for (int64_t t = 0; t < tiles; ++t) {
        const uint32_t* at = a + t * a_tile_words;
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t g = 0; g < groups + (tail ? 1 : 0); ++g) {
            const uint32_t* ag = at + g * kBf16AmxMR * kGroup;
            const uint32_t* bg = g < groups ? b + g * kGroup * kBf16NR : &b_tail[0][0];
            _tile_loadd(4, ag, 64);
            _tile_loadd(5, ag + 16 * kGroup, 64);
            _tile_loadd(6, bg, kBf16NR * 4);
            _tile_loadd(7, bg + 16, kBf16NR * 4);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, &sums[t][0][0], kBf16NR * 4);
        _tile_stored(1, &sums[t][0][16], kBf16NR * 4);
        _tile_stored(2, &sums[t][16][0], kBf16NR * 4);
        _tile_stored(3, &sums[t][16][16], kBf16NR * 4);
    }
}

__attribute__((target("amx-tile,amx-bf16"))) float amx_loop(int64_t iterations) {
    // bf16 values of about 1e-3 (0x3A83): the sums stay finite for any iteration count
    alignas(64) uint16_t a[2][16][32], b[2][16][32];
    std::fill(&a[0][0][0], &a[0][0][0] + 2 * 16 * 32, uint16_t(0x3A83));
    std::fill(&b[0][0][0], &b[0][0][0] + 2 * 16 * 32, uint16_t(0x3A83));
    amx_tiles_configure();
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, a[0], 64);
    _tile_loadd(5, a[1], 64);
    _tile_loadd(6, b[0], 64);
    _tile_loadd(7, b[1], 64);
    for (int64_t it = 0; it < iterations; ++it) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    alignas(64) float sums[4][16][16];
    _tile_stored(0, sums[0], 64);
    _tile_stored(1, sums[1], 64);
    _tile_stored(2, sums[2], 64);
    _tile_stored(3, sums[3], 64);
    amx_tiles_release();
    return sums[0][0][0] + sums[1][15][15] + sums[2][3][7] + sums[3][9][2];
}

}  // namespace pydl::gemm

#else  // not x86-64: never selected at run time

namespace pydl::gemm {
void amx_tiles_configure() {}
void amx_tile_block(int64_t, int64_t, const uint32_t*, int64_t, const uint32_t*,
                    float (*)[kBf16AmxMR][kBf16NR]) {}
void amx_tiles_release() {}
float amx_loop(int64_t) { return 0.0f; }
}  // namespace pydl::gemm

#endif
