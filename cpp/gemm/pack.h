// Packing of op(A) into MR-row panels and op(B) into NR-column panels, absorbing
// transposes and zero-padding the edges, into 64-byte aligned buffers (the caller's).
#pragma once
#include <cstdint>

#include "gemm/microkernel.h"

namespace pydl::gemm {

// Rows [i0, i0 + mc) x depth [p0, p0 + kc) of op(A) -> ceil(mc / mr) panels of
// kc x mr values (row fastest); mr is kMR, or kWideRows for the wide tile (at most 8).
void pack_a(bool trans, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* dst, int mr = kMR);
// Depth [p0, p0 + kc) x columns [j0 + jp0 * NR, ...) of op(B), panels jp0..jp1 of a
// block starting at column j0 with nc columns -> kc x NR values per panel (column fastest).
void pack_b(bool trans, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            int64_t jp0, int64_t jp1, float* dst);

}  // namespace pydl::gemm
