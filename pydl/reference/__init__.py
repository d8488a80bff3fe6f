"""NumPy twins of every pydl._core function: same names, same signatures.

Written for clarity, not speed: each is the formula of the spec (its derivative in
the docstring), works in the dtype it is given (float64 for gradient checks), and
is the oracle the C++ kernels are tested against.
"""

from .activation import *
from .attention import *
from .conv import *
from .dropout import *
from .elementwise import *
from .layout import *
from .linear import *
from .norm import *
from .optim import *
from .pool import *
from .random import *
from .recurrent import *
from .reduce import *
from .softmax_loss import *
