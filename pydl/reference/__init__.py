"""NumPy twins of every pydl._core function: same names, same signatures.

Written for clarity, not speed: each is the formula of the spec (its derivative in
the docstring), works in the dtype it is given (float64 for gradient checks), and
is the oracle the C++ kernels are tested against.
"""

from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .layout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .softmax_loss import *  # noqa: F401,F403
