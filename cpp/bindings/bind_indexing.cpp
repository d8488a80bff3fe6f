// Bindings of cpp/kernels/indexing.
#include "bindings/common.h"
#include "kernels/indexing.h"

namespace pydl::bind {

void bind_indexing(KernelModule& m) { (void)m; }

}  // namespace pydl::bind
