// Bindings of cpp/kernels/sort.
#include "bindings/common.h"
#include "kernels/sort.h"

namespace pydl::bind {

void bind_sort(KernelModule& m) { (void)m; }

}  // namespace pydl::bind
