// Bindings of cpp/kernels/pointwise.
#include "bindings/common.h"
#include "kernels/pointwise.h"

namespace pydl::bind {

void bind_pointwise(KernelModule& m) { (void)m; }

}  // namespace pydl::bind
