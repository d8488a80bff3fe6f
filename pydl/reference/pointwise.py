"""Elementwise math beyond the activations: rounding, trig and hyperbolic functions and their
inverses, erf family, exp/log variants, predicates, bitwise ops and the binary forms (fmax,
copysign, logaddexp, lerp, fmod, ...).

NumPy twins of cpp/kernels/pointwise."""

import numpy as np  # noqa: F401
