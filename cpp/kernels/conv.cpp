#include "kernels/conv.h"

#include <algorithm>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/bf16.h"
#include "gemm/gemm.h"
#include "kernels/activation.h"
#include "kernels/reduce.h"

namespace pydl {

namespace {

// Note [Column stride]: rows of the im2col matrix are `ld` floats apart, padded so the
// stride is never a multiple of 1 KiB: the GEMM then reads them in place (no packing)
// without rows aliasing in L1 (see Note [Small path] in gemm/gemm.cpp).
int64_t col_stride(int64_t spatial) { return spatial % 256 == 0 ? spatial + 16 : spatial; }

// For kernel column kj: input column of output column j is off + j * stride_w; the
// output columns [j0, j1) are the ones whose input column lies in [0, w).
struct ColumnRange {
    int64_t off, j0, j1;
};
ColumnRange column_range(const ConvShape& s, int64_t kj, int64_t ow) {
    const int64_t off = kj * s.dil_w - s.pad_left;
    int64_t j0 = off >= 0 ? 0 : (-off + s.stride_w - 1) / s.stride_w;
    int64_t j1 = s.w - off <= 0 ? 0 : (s.w - off + s.stride_w - 1) / s.stride_w;
    j0 = std::min(j0, ow);
    return {off, j0, std::min(std::max(j1, j0), ow)};
}

// Width of a plane padded left and right (the stride-1 paths of im2col and col2im work
// on whole padded rows, in a plane of h such rows).
int64_t padded_width(const ConvShape& s) { return s.padded_w(); }
// Whether those paths apply: stride 1 and no negative padding, which crops instead of
// padding and would make a padded row shorter than the input's (Note [Transposed
// convolution] in kernels/conv_transpose.h).
bool padded_rows(const ConvShape& s) {
    return s.stride_w == 1 && s.pad_left >= 0 && s.pad_right >= 0;
}

// col (cg * kh * kw rows of oh * ow, row stride ld) from one group of one sample's input.
// Rows are short (an output row: 16 floats in the spec's CIFAR network), so the copies
// and zero fills are plain loops the compiler vectorizes inline: memcpy/fill calls per
// row cost more than the copy (a quarter of conv2's forward).
// `padded` is scratch for one padded plane (ConvScratch).
PYDL_INLINE void im2col_body(const ConvShape& s, const float* x, int64_t cg, float* col, int64_t ld,
                             float* padded) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    if (padded_rows(s)) {
        // Each input row copied once into a zero-padded row; every output row is then one
        // copy of ow floats from it, with no edge cases (the general loop below spends
        // more on its 1-element edge fills than on the copy: 3x slower for conv2).
        const int64_t pw = padded_width(s);
        for (int64_t c = 0; c < cg; ++c) {
            const float* plane = x + c * s.h * s.w;
            for (int64_t r = 0; r < s.h; ++r) {
                float* __restrict dst = padded + r * pw;
                for (int64_t j = 0; j < s.pad_left; ++j) dst[j] = 0.0f;
                for (int64_t j = 0; j < s.w; ++j) dst[s.pad_left + j] = plane[r * s.w + j];
                for (int64_t j = s.pad_left + s.w; j < pw; ++j) dst[j] = 0.0f;
            }
            for (int64_t ki = 0; ki < s.kh; ++ki)
                for (int64_t kj = 0; kj < s.kw; ++kj) {
                    float* row = col + ((c * s.kh + ki) * s.kw + kj) * ld;
                    for (int64_t i = 0; i < oh; ++i) {
                        const int64_t ih = i * s.stride_h - s.pad_top + ki * s.dil_h;
                        float* __restrict out = row + i * ow;
                        if (ih < 0 || ih >= s.h) {
                            for (int64_t j = 0; j < ow; ++j) out[j] = 0.0f;
                            continue;
                        }
                        const float* __restrict src = padded + ih * pw + kj * s.dil_w;
                        for (int64_t j = 0; j < ow; ++j) out[j] = src[j];
                    }
                }
        }
        return;
    }
    for (int64_t c = 0; c < cg; ++c)
        for (int64_t ki = 0; ki < s.kh; ++ki)
            for (int64_t kj = 0; kj < s.kw; ++kj) {
                float* row = col + ((c * s.kh + ki) * s.kw + kj) * ld;
                const float* plane = x + c * s.h * s.w;
                const auto [off, j0, j1] = column_range(s, kj, ow);
                for (int64_t i = 0; i < oh; ++i) {
                    const int64_t ih = i * s.stride_h - s.pad_top + ki * s.dil_h;
                    float* out = row + i * ow;
                    if (ih < 0 || ih >= s.h) {
                        for (int64_t j = 0; j < ow; ++j) out[j] = 0.0f;
                        continue;
                    }
                    const float* src = plane + ih * s.w + off;
                    for (int64_t j = 0; j < j0; ++j) out[j] = 0.0f;
                    for (int64_t j = j0; j < j1; ++j) out[j] = src[j * s.stride_w];
                    for (int64_t j = j1; j < ow; ++j) out[j] = 0.0f;
                }
            }
}
// Compiled per instruction set (an output row of 16 floats is one AVX-512 vector).
void im2col(const ConvShape& s, const float* x, int64_t cg, float* col, int64_t ld, float* padded) {
    vec::simd_call([&]() PYDL_INLINE_LAMBDA { im2col_body(s, x, cg, col, ld, padded); });
}

// The adjoint of im2col: x (cg, h, w) += col, in a fixed order.
PYDL_INLINE void col2im_body(const ConvShape& s, const float* col, int64_t cg, float* x, int64_t ld,
                             float* padded) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    if (padded_rows(s)) {
        // As im2col: rows accumulate whole into a zero-padded plane, whose interior is
        // then added to x (each element's terms in the same order as below).
        const int64_t pw = padded_width(s);
        for (int64_t c = 0; c < cg; ++c) {
            std::fill(padded, padded + s.h * pw, 0.0f);
            for (int64_t ki = 0; ki < s.kh; ++ki)
                for (int64_t kj = 0; kj < s.kw; ++kj) {
                    const float* row = col + ((c * s.kh + ki) * s.kw + kj) * ld;
                    for (int64_t i = 0; i < oh; ++i) {
                        const int64_t ih = i * s.stride_h - s.pad_top + ki * s.dil_h;
                        if (ih < 0 || ih >= s.h) continue;
                        float* __restrict dst = padded + ih * pw + kj * s.dil_w;
                        const float* __restrict src = row + i * ow;
                        for (int64_t j = 0; j < ow; ++j) dst[j] += src[j];
                    }
                }
            float* plane = x + c * s.h * s.w;
            for (int64_t r = 0; r < s.h; ++r) {
                float* __restrict dst = plane + r * s.w;
                const float* __restrict src = padded + r * pw + s.pad_left;
                for (int64_t j = 0; j < s.w; ++j) dst[j] += src[j];
            }
        }
        return;
    }
    for (int64_t c = 0; c < cg; ++c)
        for (int64_t ki = 0; ki < s.kh; ++ki)
            for (int64_t kj = 0; kj < s.kw; ++kj) {
                const float* row = col + ((c * s.kh + ki) * s.kw + kj) * ld;
                float* plane = x + c * s.h * s.w;
                const auto [off, j0, j1] = column_range(s, kj, ow);
                for (int64_t i = 0; i < oh; ++i) {
                    const int64_t ih = i * s.stride_h - s.pad_top + ki * s.dil_h;
                    if (ih < 0 || ih >= s.h) continue;
                    float* dst = plane + ih * s.w;
                    const float* src = row + i * ow;
                    for (int64_t j = j0; j < j1; ++j) dst[off + j * s.stride_w] += src[j];
                }
            }
}
void col2im(const ConvShape& s, const float* col, int64_t cg, float* x, int64_t ld, float* padded) {
    vec::simd_call([&]() PYDL_INLINE_LAMBDA { col2im_body(s, col, cg, x, ld, padded); });
}

// Each slot's im2col workspace and padded plane (Note [Scratch before regions] in
// core/parallel.h): taken from the buffer pool before the region that uses them, one per
// thread that region can run on, instead of grow-only thread_local buffers that kept the
// largest size ever used for the life of the thread (Note [GEMM scratch] in
// gemm/gemm.cpp). A pointwise convolution reads its input in place and needs neither.
class ConvScratch {
public:
    ConvScratch(const ConvShape& s, int64_t k, int64_t spatial, int slots)
        : pointwise_(s.is_pointwise()),
          ld_(col_stride(spatial)),
          col_size_(pointwise_ ? 0 : checked_mul(k, ld_, "conv2d: im2col workspace")),
          plane_size_(pointwise_ || !padded_rows(s)
                          ? 0
                          : checked_mul(s.h, padded_width(s), "conv2d: padded plane")) {
        if (pointwise_) return;
        col_.allocate(checked_mul(col_size_, slots, "conv2d: im2col workspaces"));
        if (plane_size_) plane_.allocate(checked_mul(plane_size_, slots, "conv2d: padded planes"));
    }
    int64_t ld() const { return ld_; }  // the im2col matrix's row stride
    float* col(int slot) const { return col_.data() + slot * col_size_; }
    float* plane(int slot) const { return plane_.data() + slot * plane_size_; }

    // The GEMM operand of one group of one sample: the input itself for a pointwise
    // convolution, else its im2col in the slot's workspace. Sets ld, its row stride.
    const float* columns(const ConvShape& s, int slot, const float* x_group, int64_t cg,
                         int64_t spatial, int64_t& ld) const {
        if (pointwise_) {
            ld = spatial;
            return x_group;
        }
        ld = ld_;
        im2col(s, x_group, cg, col(slot), ld_, plane(slot));
        return col(slot);
    }

private:
    bool pointwise_;
    int64_t ld_, col_size_, plane_size_;
    Scratch<float> col_, plane_;
};

// Samples run in parallel (each GEMM single-threaded inside) when there are enough of
// them; otherwise one at a time with threaded GEMMs. Either way every output element
// is computed the same way, so results do not depend on the thread count. The grain and
// how many slots (threads) the samples' scratch needs:
int64_t sample_grain(int64_t n) { return n >= get_num_threads() ? 1 : n; }
template <typename Fn>
void for_each_sample(int64_t n, int64_t grain, int slots, Fn fn) {
    parallel_for_slots(0, n, grain, slots, [&](int slot, int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) fn(slot, i);
    });
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    float* y, std::optional<UnaryOp> act) {
    PYDL_CHECK(!act || fusable(*act), ValueError, "conv2d: ", unary_op_info(*act).name,
               " is not a fusable activation");
    const int64_t spatial = s.spatial();
    const int64_t cg = s.c / s.groups, cog = s.c_out / s.groups, k = s.col_rows();
    const int64_t grain = sample_grain(s.n);
    const int slots = parallel_slots(0, s.n, grain);
    const ConvScratch scratch(s, k, spatial, slots);
    for_each_sample(s.n, grain, slots, [&](int slot, int64_t i) {
        const float* xi = x + i * s.c * s.h * s.w;
        float* yi = y + i * s.c_out * spatial;
        for (int64_t g = 0; g < s.groups; ++g) {
            int64_t ld;
            const float* col = scratch.columns(s, slot, xi + g * cg * s.h * s.w, cg, spatial, ld);
            // y_g (cog, spatial) = W_g (cog, k) @ col (k, spatial)
            gemm_f32(s.precision, false, false, cog, spatial, k, 1.0f, weight + g * cog * k, k, col,
                     ld, 0.0f, yi + g * cog * spatial, spatial);
        }
        if (bias)
            for (int64_t co = 0; co < s.c_out; ++co)
                for (int64_t p = 0; p < spatial; ++p) yi[co * spatial + p] += bias[co];
        if (act) gemm::apply_activation_rows(act, yi, 0, 1, s.c_out * spatial);
    });
}

void conv2d_backward(const ConvShape& s, const float* grad, const float* x, const float* weight,
                     float* grad_x, float* grad_w, float* grad_bias, std::optional<UnaryOp> act,
                     const float* act_x, const float* act_y) {
    const int64_t spatial = s.spatial();
    const int64_t cg = s.c / s.groups, cog = s.c_out / s.groups, k = s.col_rows();
    const int64_t in_size = s.c * s.h * s.w;
    PYDL_CHECK(!act || (fusable(*act) && grad_x && act_x && act_y), ValueError,
               "conv2d: a fused activation is a fusable one, and needs the input's gradient and "
               "its input and output");
    if (grad_x) {
        const int64_t grain = sample_grain(s.n);
        const int slots = parallel_slots(0, s.n, grain);
        const ConvScratch scratch(s, k, spatial, slots);
        for_each_sample(s.n, grain, slots, [&](int slot, int64_t i) {
            const float* gi = grad + i * s.c_out * spatial;
            float* gxi = grad_x + i * in_size;
            for (int64_t g = 0; g < s.groups; ++g) {
                const float* wg = weight + g * cog * k;
                const float* gg = gi + g * cog * spatial;
                float* gx = gxi + g * cg * s.h * s.w;
                if (s.is_pointwise()) {  // dx_g (cg, hw) = W_g^T (cg, cog) @ dy_g (cog, hw)
                    gemm_f32(s.precision, true, false, cg, spatial, cog, 1.0f, wg, k, gg, spatial,
                             0.0f, gx, spatial);
                    continue;
                }
                const int64_t ld = scratch.ld();
                float* col = scratch.col(slot);
                gemm_f32(s.precision, true, false, k, spatial, cog, 1.0f, wg, k, gg, spatial, 0.0f,
                         col, ld);
                std::fill(gx, gx + cg * s.h * s.w, 0.0f);
                col2im(s, col, cg, gx, ld, scratch.plane(slot));
            }
            if (act)
                unary_backward_serial(*act, gxi, act_x + i * in_size, act_y + i * in_size, gxi,
                                      in_size);
        });
    }
    if (grad_w) {
        // Note [Weight gradient order]: dW_g = sum_n dy_{n,g} col_{n,g}^T. Samples go in
        // fixed blocks of kSamplesPerBlock (independent of the thread count); each block
        // accumulates its samples in order into its own partial, blocks run in parallel,
        // and the partials are added in block order: deterministic for any thread count.
        constexpr int64_t kSamplesPerBlock = 8;
        const int64_t blocks = (s.n + kSamplesPerBlock - 1) / kSamplesPerBlock;
        const int64_t w_size = s.c_out * k;
        Scratch<float> partial;  // every block's partial is written whole (beta 0 first)
        if (blocks > 1) partial.allocate(checked_mul(blocks, w_size, "conv2d: dW partials"));
        const int slots = parallel_slots(0, blocks, 1);
        const ConvScratch scratch(s, k, spatial, slots);
        parallel_for_slots(0, blocks, 1, slots, [&](int slot, int64_t lo, int64_t hi) {
            for (int64_t blk = lo; blk < hi; ++blk) {
                float* dst = blocks > 1 ? partial.data() + blk * w_size : grad_w;
                const int64_t i_end = std::min(s.n, (blk + 1) * kSamplesPerBlock);
                for (int64_t i = blk * kSamplesPerBlock; i < i_end; ++i) {
                    const float* xi = x + i * in_size;
                    const float* gi = grad + i * s.c_out * spatial;
                    for (int64_t g = 0; g < s.groups; ++g) {
                        int64_t ld;
                        const float* col =
                            scratch.columns(s, slot, xi + g * cg * s.h * s.w, cg, spatial, ld);
                        gemm_f32(s.precision, false, true, cog, k, spatial, 1.0f,
                                 gi + g * cog * spatial, spatial, col, ld,
                                 i == blk * kSamplesPerBlock ? 0.0f : 1.0f, dst + g * cog * k, k);
                    }
                }
            }
        });
        if (blocks > 1) {
            parallel_for(0, w_size, 4096, [&](int64_t lo, int64_t hi) {
                for (int64_t j = lo; j < hi; ++j) {
                    float acc = 0.0f;
                    for (int64_t blk = 0; blk < blocks; ++blk) acc += partial[blk * w_size + j];
                    grad_w[j] = acc;
                }
            });
        }
        if (s.n == 0) std::fill(grad_w, grad_w + w_size, 0.0f);
    }
    if (grad_bias)
        reduce_forward(ReduceOp::Sum, grad, {s.n, s.c_out, spatial}, {true, false, true},
                       grad_bias);
}

}  // namespace pydl
