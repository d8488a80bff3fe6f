// The bf16 GEMM: packing to bf16, the driver and the scalar emulation of vdpbf16ps.
//
// Note [bf16 GEMM]: autocast's products (linear, matmul, attention, recurrent, conv) run here.
// Operands stay fp32 in memory; packing rounds them to bf16 (floats_to_bf16's rounding, to
// nearest even) as it lays out the panels, so no tensor is ever converted whole. The panels hold
// k in pairs, one 32-bit word per (row, pair), which is what vdpbf16ps multiplies: for
// each fp32 lane it adds the product of the pair's odd elements, then of its even ones,
// each sum rounded to fp32 and a denormal sum flushed to zero (the products of bf16
// values are exact in fp32). This order, measured on this CPU against the other
// candidates (even first; both products summed once), is the one Intel's pseudocode
// gives: 0 of 1.6M lanes differ. bf16_kernel_ref emulates it with fmaf, so the
// instruction's results are the reference's bit for bit, and a CPU without AVX512_BF16
// computes the same numbers, slower. The sums restart at each depth block of kBf16KC
// and each block's sum is added to C, as sgemm's blocks are: a fixed order, whatever
// the threads. Where the CPU has AMX, `auto` takes its tiles instead (Note [AMX tile] in
// kernel_amx.cpp): the same packing of B, 32 x 32 blocks, 5-6x the instruction's rate on
// an Intel Xeon whose vdpbf16ps runs at half its fp32 FMA rate, and sums that are not
// the emulation's bits (within a rounding per 32-deep step of the exact sum).
#include "gemm/bf16.h"

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <string>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/cpu.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/driver.h"
#include "gemm/epilogue.h"

namespace pydl {

namespace {

// The bf16 bits of x (floats_to_bf16's rounding) in the low 16 bits, without branches so
// that the packing loops vectorize.
PYDL_INLINE uint32_t bf16_bits(float x) {
    const uint32_t bits = __builtin_bit_cast(uint32_t, x);
    const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    const uint32_t r = (bits & 0x7F800000u) == 0 ? (bits >> 16) & 0x8000u : rounded;
    return (bits & 0x7FFFFFFFu) > 0x7F800000u ? (bits >> 16) | 0x0040u : r;
}

PYDL_INLINE uint32_t pair_bits(float lo, float hi) { return bf16_bits(lo) | bf16_bits(hi) << 16; }

}  // namespace

void floats_to_bf16(const float* x, uint16_t* out, int64_t n) {
    vec::simd_call([&]() PYDL_INLINE_LAMBDA {
        for (int64_t i = 0; i < n; ++i) out[i] = uint16_t(bf16_bits(x[i]));
    });
}

namespace gemm {

namespace {

constexpr int MR = kBf16MR, NR = kBf16NR;
// Rows of A a compute task sweeps over one B panel: 96 rows of 1024 bf16 (192 KiB)
// stay in L2 while the 64 KiB B panel is reused by 12 tiles.
constexpr int64_t kBf16MC = 96;
constexpr int64_t kBf16NC = 4096;

enum Bf16Choice : int { kAuto = 0, kRef, kAvx2, kAvx512Bf16, kAmx };
std::atomic<int> g_bf16_choice{kAuto};

// One panel of Width lanes (MR rows of op(A), or NR columns of op(B)) over kc of depth:
// the word of (pair q, lane l) at panel[q * Width + l]. Lane l's element p is read at
// x[l * lane_step + p * depth_step], for lanes [0, used); the lanes past them and the
// second half of a last odd pair are zeros. One of the two steps is 1: the loops run
// along it, so each reads contiguous floats.
template <int Width>
PYDL_INLINE void pack_panel(const float* x, int64_t lane_step, int64_t depth_step, int64_t used,
                            int64_t kc, uint32_t* panel) {
    const int64_t kp = (kc + 1) / 2, whole = kc / 2;
    if (depth_step == 1) {  // each lane a contiguous run along k
        for (int64_t l = 0; l < Width; ++l) {
            if (l >= used) {
                for (int64_t q = 0; q < kp; ++q) panel[q * Width + l] = 0;
                continue;
            }
            const float* run = x + l * lane_step;
            for (int64_t q = 0; q < whole; ++q)
                panel[q * Width + l] = pair_bits(run[2 * q], run[2 * q + 1]);
            if (whole < kp) panel[whole * Width + l] = bf16_bits(run[2 * whole]);
        }
        return;
    }
    for (int64_t q = 0; q < kp; ++q) {  // lanes contiguous, two runs of them per pair
        const float* lo = x + 2 * q * depth_step;
        uint32_t* w = panel + q * Width;
        if (q < whole)
            for (int64_t l = 0; l < used; ++l) w[l] = pair_bits(lo[l], lo[depth_step + l]);
        else
            for (int64_t l = 0; l < used; ++l) w[l] = bf16_bits(lo[l]);
        for (int64_t l = used; l < Width; ++l) w[l] = 0;
    }
}

// Rows [i0, i0 + rows) of op(A) over depth [p0, p0 + kc) -> panels of MR rows (pack_panel).
void pack_a_bf16(bool trans, const float* a, int64_t lda, int64_t i0, int64_t rows, int64_t p0,
                 int64_t kc, uint32_t* dst) {
    const int64_t kp = (kc + 1) / 2;
    vec::simd_call([&]() PYDL_INLINE_LAMBDA {
        for (int64_t r0 = 0; r0 < rows; r0 += MR) {
            const int64_t i = i0 + r0, mr = std::min<int64_t>(MR, rows - r0);
            if (trans)  // op(A)[i][p] = a[p * lda + i]
                pack_panel<MR>(a + p0 * lda + i, 1, lda, mr, kc, dst + r0 * kp);
            else
                pack_panel<MR>(a + i * lda + p0, lda, 1, mr, kc, dst + r0 * kp);
        }
    });
}

// Rows [i0, i0 + rows) of op(A) over depth [p0, p0 + kc) -> the AMX layout (bf16.h): per
// panel of kBf16AmxMR rows, groups of kBf16AmxGroup pairs, each [row][pair] (rows past
// `rows` and pairs past the depth are zeros). Both cases read contiguous floats: a row
// along k, or (op(A) = a^T) a row of a across the panel's rows, transposed into the group
// (reading op(A)'s rows down a's columns, 4 KiB apart for a 1024-wide a, ran the weight
// gradient of GPT's fc1 at 68 GFLOP/s on one thread; this way at 383).
void pack_a_bf16_amx(bool trans, const float* a, int64_t lda, int64_t i0, int64_t rows, int64_t p0,
                     int64_t kc, uint32_t* dst) {
    constexpr int G = kBf16AmxGroup, AMR = kBf16AmxMR;
    const int64_t kp = (kc + 1) / 2, groups = (kp + G - 1) / G;
    vec::simd_call([&]() PYDL_INLINE_LAMBDA {
        for (int64_t r0 = 0; r0 < rows; r0 += AMR) {
            const int64_t used = std::min<int64_t>(AMR, rows - r0);
            for (int64_t g = 0; g < groups; ++g) {
                uint32_t* w = dst + (r0 / AMR * groups + g) * AMR * G;  // [row][pair]
                const int64_t p = p0 + 2 * g * G, depth = std::min<int64_t>(2 * G, p0 + kc - p);
                const int64_t filled = (depth + 1) / 2;
                if (trans) {  // op(A)[i][p] = a[p * lda + i]
                    for (int64_t q = 0; q < filled; ++q) {
                        const float* lo = a + (p + 2 * q) * lda + i0 + r0;
                        if (2 * q + 1 < depth)
                            for (int64_t r = 0; r < used; ++r)
                                w[r * G + q] = pair_bits(lo[r], lo[lda + r]);
                        else
                            for (int64_t r = 0; r < used; ++r) w[r * G + q] = bf16_bits(lo[r]);
                    }
                } else {
                    for (int64_t r = 0; r < used; ++r)
                        pack_panel<1>(a + (i0 + r0 + r) * lda + p, 0, 1, 1, depth, w + r * G);
                }
                for (int64_t r = 0; r < AMR; ++r)  // the pairs past the depth, the rows past m
                    std::fill(w + r * G + (r < used ? filled : 0), w + (r + 1) * G, 0u);
            }
        }
    });
}

// Panels [jp0, jp1) of NR columns of op(B) (columns from j0, nc of them) over depth
// [p0, p0 + kc) (pack_panel), panel jp at dst + jp * NR * kp.
void pack_b_bf16(bool trans, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
                 int64_t nc, int64_t jp0, int64_t jp1, uint32_t* dst) {
    const int64_t kp = (kc + 1) / 2;
    vec::simd_call([&]() PYDL_INLINE_LAMBDA {
        for (int64_t jp = jp0; jp < jp1; ++jp) {
            const int64_t j = j0 + jp * NR, nr = std::min<int64_t>(NR, nc - jp * NR);
            if (trans)  // op(B)[p][j] = b[j * ldb + p]
                pack_panel<NR>(b + j * ldb + p0, ldb, 1, nr, kc, dst + jp * NR * kp);
            else
                pack_panel<NR>(b + p0 * ldb + j, 1, ldb, nr, kc, dst + jp * NR * kp);
        }
    });
}

// One row of a tile: c = act(alpha * sums + beta * c + bias) (c not read when beta == 0),
// the pre-activation stored. Each operation rounds on its own (the file is built with
// -ffp-contract=off), so every SIMD copy gives the same bits as the emulation.
template <typename Act>
PYDL_INLINE void finish_row(const float* __restrict sums, float* __restrict c, int nr, float alpha,
                            float beta, const float* __restrict bias, float* __restrict pre) {
    // One loop per case, each storing c (and pre) once: a loop that only copied c to pre
    // became a call to memcpy per row, a third of a GELU layer's time.
    const auto store = [&](int j, float v) PYDL_INLINE_LAMBDA {
        if (bias) v += bias[j];
        if (pre) pre[j] = v;
        c[j] = Act::f(v, 0.0f, 0.0f);
    };
    if (beta == 0.0f)
        for (int j = 0; j < nr; ++j) store(j, alpha * sums[j]);
    else if (beta == 1.0f)
        for (int j = 0; j < nr; ++j) store(j, alpha * sums[j] + c[j]);
    else
        for (int j = 0; j < nr; ++j) store(j, std::fma(beta, c[j], alpha * sums[j]));
}

// The tile's rows [0, mr) and columns [0, nr) finished (finish_row), in the widest SIMD
// copy, with the activation in the same pass (a pass of its own per tile cost a ReLU
// layer a third of its time).
void finish_tile(const float (*sums)[NR], float* c, int64_t ldc, int mr, int nr, float alpha,
                 float beta, const Epilogue* ep) {
    const float* bias = ep ? ep->bias : nullptr;
    float* pre = ep ? ep->pre : nullptr;
    const int64_t ldpre = ep ? ep->ldpre : 0;
    with_activation(ep ? ep->act : std::nullopt, [&](auto act) {
        using Act = decltype(act);
        vec::simd_call([&]() PYDL_INLINE_LAMBDA {
            for (int r = 0; r < mr; ++r)
                finish_row<Act>(sums[r], c + r * ldc, nr, alpha, beta, bias,
                                pre ? pre + r * ldpre : nullptr);
        });
    });
}

// A sum vdpbf16ps leaves denormal is flushed to a zero of its sign.
PYDL_INLINE float flush_denormal(float x) { return std::fabs(x) < FLT_MIN ? 0.0f * x : x; }

PYDL_INLINE void bf16_tile_emulated(int64_t kp, const uint32_t* a, const uint32_t* b,
                                    float sums[MR][NR]) {
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NR; ++j) sums[r][j] = 0.0f;
    for (int64_t q = 0; q < kp; ++q)
        for (int r = 0; r < MR; ++r) {
            const uint32_t aw = a[q * MR + r];
            const float a_lo = bf16_to_float(uint16_t(aw)),
                        a_hi = bf16_to_float(uint16_t(aw >> 16));
            const uint32_t* bw = b + q * NR;
            for (int j = 0; j < NR; ++j) {
                const float odd = std::fma(a_hi, bf16_to_float(uint16_t(bw[j] >> 16)), sums[r][j]);
                sums[r][j] = flush_denormal(
                    std::fma(a_lo, bf16_to_float(uint16_t(bw[j])), flush_denormal(odd)));
            }
        }
}

// The emulation compiled for AVX2+FMA: the same numbers as the reference (fmaf is one
// rounding either way), for CPUs without AVX512_BF16.
PYDL_TARGET_AVX2 void bf16_kernel_avx2(int64_t kp, const uint32_t* a, const uint32_t* b,
                                       float sums[MR][NR]) {
    bf16_tile_emulated(kp, a, b, sums);
}

Bf16Choice bf16_choice() {
    const auto choice = Bf16Choice(g_bf16_choice.load(std::memory_order_relaxed));
    if (choice != kAuto) return choice;
    if (cpu_has_amx_bf16()) return kAmx;
    if (cpu_has_avx512bf16()) return kAvx512Bf16;
    return use_avx2() ? kAvx2 : kRef;
}

// The tile kernel of a choice other than kAmx (whose blocks amx_tile_block computes).
Bf16Kernel bf16_kernel(Bf16Choice choice) {
    return choice == kAvx512Bf16 ? bf16_kernel_avx512
           : choice == kAvx2     ? bf16_kernel_avx2
                                 : bf16_kernel_ref;
}

}  // namespace

void bf16_kernel_ref(int64_t kp, const uint32_t* a, const uint32_t* b, float sums[MR][NR]) {
    bf16_tile_emulated(kp, a, b, sums);
}

void set_bf16_kernel(const char* name) {
    const std::string s(name);
    if (s == "auto")
        g_bf16_choice = kAuto;
    else if (s == "ref")
        g_bf16_choice = kRef;
    else if (s == "avx2") {
        PYDL_CHECK(use_avx2(), ValueError,
                   "the avx2 bf16 GEMM kernel needs a CPU with AVX2 and FMA");
        g_bf16_choice = kAvx2;
    } else if (s == "avx512bf16") {
        PYDL_CHECK(cpu_has_avx512bf16(), ValueError,
                   "the avx512bf16 GEMM kernel needs a CPU with AVX512_BF16");
        g_bf16_choice = kAvx512Bf16;
    } else if (s == "amx") {
        PYDL_CHECK(cpu_has_amx_bf16(), ValueError,
                   "the amx GEMM kernel needs a CPU with AMX-BF16 that the OS lets pydl use");
        g_bf16_choice = kAmx;
    } else {
        PYDL_CHECK(false, ValueError, "unknown bf16 GEMM kernel '", s,
                   "' (expected auto, ref, avx2, avx512bf16 or amx)");
    }
}

const char* bf16_kernel_name() {
    switch (bf16_choice()) {
        case kAmx:
            return "amx";
        case kAvx512Bf16:
            return "avx512bf16";
        case kAvx2:
            return "avx2";
        default:
            return "ref";
    }
}

}  // namespace gemm

namespace {

using namespace gemm;

// Where the driver finds each block of B's panels (panel jp of the block at
// block + jp * NR * kp): packed by the driver's tasks from op(B) (sbgemm), or packed once
// before, every depth block's panels for all of n (a PackedB at BFloat16).
struct PackPerBlock {
    bool trans_b;
    const float* b;
    int64_t ldb;
    uint32_t* buf;
    int64_t tasks(int64_t panels) const { return (panels + 1) / 2; }  // 2 panels a task
    void pack(int64_t task, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t panels) const {
        const int64_t jp = task * 2;
        pack_b_bf16(trans_b, b, ldb, p0, kc, j0, nc, jp, std::min(panels, jp + 2), buf);
    }
    const uint32_t* block(int64_t, int64_t, int64_t) const { return buf; }
};

struct Prepacked {
    const uint32_t* data;
    int64_t n;
    int64_t tasks(int64_t) const { return 0; }
    void pack(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) const {}
    // The depth blocks before p0 are whole (kBf16KC, even): p0 / 2 pairs of every panel.
    const uint32_t* block(int64_t p0, int64_t j0, int64_t kp) const {
        return data + (p0 / 2) * ((n + NR - 1) / NR) * NR + j0 * kp;
    }
};

template <typename BSource>
void sbgemm_driver(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, float beta, float* c, int64_t ldc, const Epilogue* ep,
                   const BSource& b) {
    if (m <= 0 || n <= 0) return;
    if (ep && !ep->active()) ep = nullptr;
    if (k <= 0 || alpha == 0.0f) return scale_c(m, n, beta, c, ldc, ep);
    const Bf16Choice choice = bf16_choice();
    const bool amx = choice == kAmx;
    const Bf16Kernel kern = bf16_kernel(choice);
    const bool parallel = m * n * k >= kParallelWork && get_num_threads() > 1;
    const int mr = amx ? kBf16AmxMR : MR;  // rows of a tile and of an A panel
    const int64_t a_panels = (m + mr - 1) / mr;
    // An A panel's words over kp pairs (AMX's: whole groups of pairs, bf16.h).
    const auto panel_words = [&](int64_t kp) {
        return amx ? mr * ((kp + kBf16AmxGroup - 1) / kBf16AmxGroup * kBf16AmxGroup) : mr * kp;
    };
    // Note [GEMM scratch]: taken once per call, before the regions.
    Scratch<uint32_t> a_buf(a_panels * panel_words((std::min(kBf16KC, k) + 1) / 2));
    uint32_t* apack = a_buf.data();
    const int64_t panels_per_block = kBf16MC / mr;
    const int64_t row_blocks = (a_panels + panels_per_block - 1) / panels_per_block;
    for (int64_t j0 = 0; j0 < n; j0 += kBf16NC) {
        const int64_t nc = std::min(kBf16NC, n - j0);
        const int64_t panels = (nc + NR - 1) / NR;
        for (int64_t p0 = 0; p0 < k; p0 += kBf16KC) {
            const int64_t kc = std::min(kBf16KC, k - p0), kp = (kc + 1) / 2;
            const int64_t pw = panel_words(kp);
            constexpr int64_t kPackRows = 32;  // rows of A a packing task (whole panels)
            const int64_t a_tasks = (m + kPackRows - 1) / kPackRows;
            run_tasks(
                a_tasks + b.tasks(panels), parallel,
                [&](int64_t t) {
                    if (t < a_tasks) {
                        const int64_t i0 = t * kPackRows;
                        const int64_t rows = std::min(kPackRows, m - i0);
                        uint32_t* dst = apack + i0 / mr * pw;
                        if (amx)
                            pack_a_bf16_amx(trans_a, a, lda, i0, rows, p0, kc, dst);
                        else
                            pack_a_bf16(trans_a, a, lda, i0, rows, p0, kc, dst);
                    } else {
                        b.pack(t - a_tasks, p0, kc, j0, nc, panels);
                    }
                },
                /*grain=*/1);
            const uint32_t* bblock = b.block(p0, j0, kp);
            const bool last = p0 + kc >= k;
            const float beta_block = p0 == 0 ? beta : 1.0f;
            // Tasks: B panels against one block of rows, row blocks outermost so a thread's
            // contiguous share keeps its rows of A while the B panels pass. A task is one
            // panel, or for AMX enough panels for 8 tiles: its tiles are configured once
            // per task, and a 32-row product (the LSTM's step) has one tile per panel.
            const int64_t block_tiles = std::min(panels_per_block, a_panels);
            // (at most an even share of each thread's, so that every thread gets work)
            const int64_t share = row_blocks * panels / (2 * (parallel ? get_num_threads() : 1));
            const int64_t per_task =
                amx ? std::clamp<int64_t>(8 / block_tiles, 1, std::max<int64_t>(1, share)) : 1;
            const int64_t groups = (panels + per_task - 1) / per_task;
            run_tasks(
                row_blocks * groups, parallel,
                [&](int64_t t) {
                    const int64_t rb = t / groups, jp0 = t % groups * per_task;
                    const int64_t ip0 = rb * panels_per_block;
                    const int64_t ip_hi = std::min(a_panels, ip0 + panels_per_block);
                    if (amx) amx_tiles_configure();
                    for (int64_t jp = jp0; jp < std::min(panels, jp0 + per_task); ++jp) {
                        const int64_t j = j0 + jp * NR;
                        const int nr = int(std::min<int64_t>(NR, n - j));
                        const uint32_t* bp = bblock + jp * NR * kp;
                        const auto finish = [&](int64_t ip, const float (*sums)[NR]) {
                            const int64_t i = ip * mr;
                            Epilogue tile;
                            finish_tile(sums, c + i * ldc + j, ldc,
                                        int(std::min<int64_t>(mr, m - i)), nr, alpha, beta_block,
                                        last ? tile_epilogue(ep, i, j, tile) : nullptr);
                        };
                        if (amx) {
                            alignas(64) float sums[kBf16MC / kBf16AmxMR][kBf16AmxMR][NR];
                            amx_tile_block(ip_hi - ip0, kp, apack + ip0 * pw, pw, bp, sums);
                            for (int64_t ip = ip0; ip < ip_hi; ++ip) finish(ip, sums[ip - ip0]);
                            continue;
                        }
                        for (int64_t ip = ip0; ip < ip_hi; ++ip) {
                            alignas(64) float sums[MR][NR];
                            kern(kp, apack + ip * pw, bp, sums);
                            finish(ip, sums);
                        }
                    }
                    if (amx) amx_tiles_release();
                },
                /*grain=*/1);
        }
    }
}

}  // namespace

namespace gemm {

int64_t bf16_packed_b_size(int64_t k, int64_t n) {
    return (n + NR - 1) / NR * NR * ((k + 1) / 2);  // whole blocks' pairs plus the last's
}

void pack_b_bf16_whole(bool trans_b, const float* b, int64_t ldb, int64_t k, int64_t n,
                       uint32_t* dst) {
    const int64_t panels = (n + NR - 1) / NR;
    const bool parallel = n * k >= kParallelWork / 16 && get_num_threads() > 1;
    for (int64_t p0 = 0; p0 < k; p0 += kBf16KC) {
        const int64_t kc = std::min(kBf16KC, k - p0);
        uint32_t* block = dst + (p0 / 2) * panels * NR;
        parallel_for(0, panels, parallel ? 1 : panels, [&](int64_t lo, int64_t hi) {
            pack_b_bf16(trans_b, b, ldb, p0, kc, 0, n, lo, hi, block);
        });
    }
}

}  // namespace gemm

void sbgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
            int64_t ldc, const gemm::Epilogue* ep) {
    using namespace gemm;
    if (m <= 0 || n <= 0) return;
    // Note [GEMM scratch]: B's block buffer, taken before the regions.
    const int64_t kp_max = (std::min(kBf16KC, std::max<int64_t>(k, 1)) + 1) / 2;
    Scratch<uint32_t> b_buf((std::min(kBf16NC, n) + NR - 1) / NR * NR * kp_max);
    sbgemm_driver(trans_a, m, n, k, alpha, a, lda, beta, c, ldc, ep,
                  PackPerBlock{trans_b, b, ldb, b_buf.data()});
}

void sbgemm_prepacked(bool trans_a, int64_t m, float alpha, const float* a, int64_t lda,
                      const PackedB& b, float beta, float* c, int64_t ldc,
                      const gemm::Epilogue* ep) {
    sbgemm_driver(trans_a, m, b.n, b.k, alpha, a, lda, beta, c, ldc, ep,
                  Prepacked{b.bf16_data.data(), b.n});
}

}  // namespace pydl
