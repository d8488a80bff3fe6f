// Bindings of cpp/kernels/loss.
#include "bindings/common.h"
#include "kernels/loss.h"

namespace pydl::bind {

void bind_loss(KernelModule& m) { (void)m; }

}  // namespace pydl::bind
