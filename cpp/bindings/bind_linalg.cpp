// Bindings of cpp/kernels/linalg.
#include "bindings/common.h"
#include "kernels/linalg.h"

namespace pydl::bind {

void bind_linalg(KernelModule& m) { (void)m; }

}  // namespace pydl::bind
