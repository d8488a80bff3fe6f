// Bindings of cpp/kernels/scan.
#include "bindings/common.h"
#include "kernels/scan.h"

namespace pydl::bind {

void bind_scan(KernelModule& m) { (void)m; }

}  // namespace pydl::bind
