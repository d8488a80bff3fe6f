"""Elementwise math beyond the activations: rounding, trig and hyperbolic functions and their
inverses, erf family, exp/log variants, predicates, bitwise ops and the binary forms (fmax,
copysign, logaddexp, lerp, fmod, ...).

(cpp/kernels/pointwise, pydl/reference/pointwise)."""

from __future__ import annotations
