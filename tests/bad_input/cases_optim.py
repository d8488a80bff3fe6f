"""Optimizers, lr schedulers and gradient clipping given bad arguments (Note [Bad-input
corpus]): negative, NaN and infinite hyper-parameters, wrong types and tuple lengths, bad
parameter lists and groups, mismatched state dicts."""

import math

import numpy as np
from corpus import bad, works

import pydl
from pydl import nn, optim
from pydl.optim import lr_scheduler as sched

CASES: list = []
NAN, INF = float("nan"), float("inf")


def _params(n=1):
    return [nn.Parameter(np.ones(3, np.float32)) for _ in range(n)]


def _make(cls, **kwargs):
    return lambda: cls(_params(), **kwargs)


# ----- hyper-parameters shared by every optimizer -------------------------------------------

_ALL = {
    "SGD": optim.SGD,
    "Adam": optim.Adam,
    "AdamW": optim.AdamW,
    "NAdam": optim.NAdam,
    "LAMB": optim.LAMB,
    "Adagrad": optim.Adagrad,
    "RMSprop": optim.RMSprop,
    "Adadelta": optim.Adadelta,
    "Adafactor": optim.Adafactor,
    "Lion": optim.Lion,
    "Momentum": optim.Momentum,
    "LBFGS": optim.LBFGS,
}

for _name, _cls in _ALL.items():
    bad(
        CASES,
        f"optim.{_name}.lr_negative",
        _make(_cls, lr=-0.1),
        ValueError,
        r"learning rate.*-0\.1",
    )
    bad(CASES, f"optim.{_name}.lr_nan", _make(_cls, lr=NAN), ValueError, r"learning rate.*nan")
    bad(CASES, f"optim.{_name}.lr_inf", _make(_cls, lr=INF), ValueError, r"learning rate.*inf")
    bad(CASES, f"optim.{_name}.lr_str", _make(_cls, lr="0.1"), TypeError, r"lr.*str")
    bad(CASES, f"optim.{_name}.lr_none", _make(_cls, lr=None), TypeError, r"lr.*None")
    bad(CASES, f"optim.{_name}.params_empty", lambda c=_cls: c([]), ValueError, r"empty")
    bad(
        CASES,
        f"optim.{_name}.params_tensor",
        lambda c=_cls: c(pydl.ones(3, requires_grad=True)),
        TypeError,
        r"params.*iterable.*Tensor",
    )
    if _name not in ("LBFGS", "Momentum", "Adadelta"):
        bad(
            CASES,
            f"optim.{_name}.weight_decay_negative",
            _make(_cls, weight_decay=-1.0),
            ValueError,
            r"weight_decay.*-1",
        )
        bad(
            CASES,
            f"optim.{_name}.weight_decay_nan",
            _make(_cls, weight_decay=NAN),
            ValueError,
            r"weight_decay.*nan",
        )
    if _name not in ("LBFGS",):
        bad(
            CASES,
            f"optim.{_name}.maximize_str",
            _make(_cls, maximize="yes"),
            TypeError,
            r"maximize.*bool.*str",
        )

for _name in ("Adam", "AdamW", "NAdam", "LAMB", "Lion"):
    _cls = _ALL[_name]
    bad(
        CASES,
        f"optim.{_name}.betas_one",
        _make(_cls, betas=(0.9,)),
        ValueError,
        r"betas.*\(0\.9,\)",
    )
    bad(
        CASES,
        f"optim.{_name}.betas_three",
        _make(_cls, betas=(0.9, 0.99, 0.999)),
        ValueError,
        r"betas.*pair",
    )
    bad(CASES, f"optim.{_name}.betas_float", _make(_cls, betas=0.9), TypeError, r"betas.*float")
    bad(
        CASES,
        f"optim.{_name}.beta1_nan",
        _make(_cls, betas=(NAN, 0.999)),
        ValueError,
        r"beta parameter at index 0.*nan",
    )
    bad(
        CASES,
        f"optim.{_name}.beta2_one",
        _make(_cls, betas=(0.9, 1.0)),
        ValueError,
        r"beta parameter at index 1.*1\.0",
    )
    bad(
        CASES,
        f"optim.{_name}.betas_str",
        _make(_cls, betas=("0.9", "0.99")),
        TypeError,
        r"beta.*str",
    )

for _name in ("Adam", "AdamW", "NAdam", "LAMB", "Adagrad", "RMSprop", "Adadelta"):
    _cls = _ALL[_name]
    bad(
        CASES, f"optim.{_name}.eps_negative", _make(_cls, eps=-1e-8), ValueError, r"epsilon.*-1e-08"
    )
    bad(CASES, f"optim.{_name}.eps_nan", _make(_cls, eps=NAN), ValueError, r"epsilon.*nan")

bad(
    CASES, "optim.Adam.amsgrad_str", _make(optim.Adam, amsgrad="False"), TypeError, r"amsgrad.*bool"
)
bad(
    CASES,
    "optim.SGD.momentum_negative",
    _make(optim.SGD, momentum=-0.9),
    ValueError,
    r"momentum.*-0\.9",
)
bad(CASES, "optim.SGD.momentum_nan", _make(optim.SGD, momentum=NAN), ValueError, r"momentum.*nan")
bad(CASES, "optim.SGD.momentum_inf", _make(optim.SGD, momentum=INF), ValueError, r"momentum.*inf")
bad(
    CASES,
    "optim.SGD.dampening_negative",
    _make(optim.SGD, momentum=0.9, dampening=-1.0),
    ValueError,
    r"dampening.*-1",
)
bad(
    CASES, "optim.SGD.dampening_nan", _make(optim.SGD, dampening=NAN), ValueError, r"dampening.*nan"
)
bad(
    CASES,
    "optim.SGD.nesterov_without_momentum",
    _make(optim.SGD, nesterov=True),
    ValueError,
    r"nesterov.*momentum",
)
bad(
    CASES,
    "optim.SGD.nesterov_with_dampening",
    _make(optim.SGD, momentum=0.9, dampening=0.1, nesterov=True),
    ValueError,
    r"nesterov.*dampening",
)
bad(
    CASES,
    "optim.SGD.nesterov_str",
    _make(optim.SGD, momentum=0.9, nesterov="yes"),
    TypeError,
    r"nesterov.*bool",
)
bad(CASES, "optim.Momentum.beta_one", _make(optim.Momentum, beta=1.0), ValueError, r"beta.*1\.0")
bad(CASES, "optim.Momentum.beta_nan", _make(optim.Momentum, beta=NAN), ValueError, r"beta.*nan")
bad(
    CASES,
    "optim.RMSprop.alpha_negative",
    _make(optim.RMSprop, alpha=-0.5),
    ValueError,
    r"alpha.*-0\.5",
)
bad(CASES, "optim.RMSprop.alpha_nan", _make(optim.RMSprop, alpha=NAN), ValueError, r"alpha.*nan")
bad(
    CASES,
    "optim.RMSprop.momentum_negative",
    _make(optim.RMSprop, momentum=-1.0),
    ValueError,
    r"momentum.*-1",
)
bad(
    CASES,
    "optim.RMSprop.centered_str",
    _make(optim.RMSprop, centered="no"),
    TypeError,
    r"centered.*bool",
)
bad(CASES, "optim.Adadelta.rho_above_one", _make(optim.Adadelta, rho=1.5), ValueError, r"rho.*1\.5")
bad(CASES, "optim.Adadelta.rho_nan", _make(optim.Adadelta, rho=NAN), ValueError, r"rho.*nan")
bad(
    CASES,
    "optim.Adagrad.lr_decay_negative",
    _make(optim.Adagrad, lr_decay=-0.1),
    ValueError,
    r"lr_decay.*-0\.1",
)
bad(
    CASES,
    "optim.Adagrad.lr_decay_nan",
    _make(optim.Adagrad, lr_decay=NAN),
    ValueError,
    r"lr_decay.*nan",
)
bad(
    CASES,
    "optim.Adagrad.initial_accumulator_negative",
    _make(optim.Adagrad, initial_accumulator_value=-1.0),
    ValueError,
    r"initial_accumulator_value.*-1",
)
bad(
    CASES,
    "optim.NAdam.momentum_decay_negative",
    _make(optim.NAdam, momentum_decay=-1.0),
    ValueError,
    r"momentum_decay.*-1",
)
bad(
    CASES,
    "optim.NAdam.momentum_decay_nan",
    _make(optim.NAdam, momentum_decay=NAN),
    ValueError,
    r"momentum_decay.*nan",
)
bad(
    CASES,
    "optim.Adafactor.d_below_one",
    _make(optim.Adafactor, d=0.5),
    ValueError,
    r"Clipping threshold d.*0\.5",
)
bad(
    CASES,
    "optim.Adafactor.beta2_decay_positive",
    _make(optim.Adafactor, beta2_decay=0.5),
    ValueError,
    r"beta2_decay.*0\.5",
)
bad(CASES, "optim.Adafactor.eps_one", _make(optim.Adafactor, eps=(1e-3,)), ValueError, r"eps.*pair")
bad(
    CASES,
    "optim.Adafactor.eps_negative",
    _make(optim.Adafactor, eps=(None, -1.0)),
    ValueError,
    r"epsilon.*-1",
)
bad(CASES, "optim.LBFGS.max_iter_zero", _make(optim.LBFGS, max_iter=0), ValueError, r"max_iter.*0")
bad(
    CASES,
    "optim.LBFGS.max_iter_float",
    _make(optim.LBFGS, max_iter=2.5),
    TypeError,
    r"max_iter.*float",
)
bad(
    CASES,
    "optim.LBFGS.history_size_zero",
    _make(optim.LBFGS, history_size=0),
    ValueError,
    r"history_size.*0",
)
bad(
    CASES,
    "optim.LBFGS.tolerance_grad_negative",
    _make(optim.LBFGS, tolerance_grad=-1.0),
    ValueError,
    r"tolerance_grad.*-1",
)
bad(
    CASES,
    "optim.LBFGS.line_search_bogus",
    _make(optim.LBFGS, line_search_fn="wolfe"),
    ValueError,
    r"line_search_fn.*wolfe",
)


def _lbfgs_step_without_closure():
    p = _params()
    opt = optim.LBFGS(p)
    p[0].grad = pydl.ones(3)
    opt.step()


bad(
    CASES, "optim.LBFGS.step_without_closure", _lbfgs_step_without_closure, RuntimeError, r"closure"
)

# ----- parameters and groups ----------------------------------------------------------------


def _non_leaf():
    x = nn.Parameter(np.ones(3, np.float32))
    return optim.SGD([x * 2], lr=0.1)


def _duplicate():
    p = _params()[0]
    return optim.SGD([p, p], lr=0.1)


bad(CASES, "optim.params.non_leaf", _non_leaf, ValueError, r"non-leaf")
bad(CASES, "optim.params.duplicate", _duplicate, ValueError, r"more than one|duplicate")
bad(
    CASES,
    "optim.params.ndarray_entry",
    lambda: optim.SGD([np.ones(3)], lr=0.1),
    TypeError,
    r"Tensor.*ndarray",
)
bad(
    CASES,
    "optim.params.none_entry",
    lambda: optim.SGD([None], lr=0.1),
    TypeError,
    r"Tensor.*NoneType",
)
bad(CASES, "optim.params.int", lambda: optim.SGD(3, lr=0.1), TypeError, r"params.*int")
bad(
    CASES,
    "optim.params.module",
    lambda: optim.SGD(nn.Linear(2, 2), lr=0.1),
    TypeError,
    r"params.*Linear.*parameters\(\)",
)
bad(
    CASES,
    "optim.groups.no_params_key",
    lambda: optim.SGD([{"lr": 0.1}], lr=0.1),
    KeyError,
    r"params",
)
bad(
    CASES,
    "optim.groups.bad_lr",
    lambda: optim.SGD([{"params": _params(), "lr": -1.0}], lr=0.1),
    ValueError,
    r"learning rate.*-1",
)
bad(
    CASES,
    "optim.groups.bad_betas",
    lambda: optim.Adam([{"params": _params(), "betas": (0.9,)}]),
    ValueError,
    r"betas.*\(0\.9,\)",
)
bad(
    CASES,
    "optim.groups.mixed_dicts_and_tensors",
    lambda: optim.SGD([{"params": _params()}, _params()[0]], lr=0.1),
    TypeError,
    r"param_groups? .*dict",
)
bad(
    CASES,
    "optim.add_param_group.not_dict",
    lambda: optim.SGD(_params(), lr=0.1).add_param_group(_params()),
    TypeError,
    r"param_group.*dict.*list",
)


# ----- state dicts ----------------------------------------------------------------------------


def _load_other(make_saved, make_target):
    def call():
        saved = make_saved()
        target = make_target()
        target.load_state_dict(saved.state_dict())

    return call


bad(
    CASES,
    "optim.load_state_dict.more_params",
    _load_other(lambda: optim.SGD(_params(2), lr=0.1), lambda: optim.SGD(_params(1), lr=0.1)),
    ValueError,
    r"different number of parameters",
)


def _stepped_adam(shape):
    p = nn.Parameter(np.ones(shape, np.float32))
    opt = optim.Adam([p])
    p.grad = pydl.ones(*shape)
    opt.step()
    return opt


bad(
    CASES,
    "optim.load_state_dict.wrong_shape",
    _load_other(
        lambda: _stepped_adam((3,)), lambda: optim.Adam([nn.Parameter(np.ones(4, np.float32))])
    ),
    ValueError,
    r"exp_avg.*shape.*\(3,\).*\(4,\)",
)
bad(
    CASES,
    "optim.load_state_dict.not_dict",
    lambda: optim.SGD(_params(), lr=0.1).load_state_dict([1, 2]),
    TypeError,
    r"state_dict.*dict.*list",
)
bad(
    CASES,
    "optim.load_state_dict.missing_groups",
    lambda: optim.SGD(_params(), lr=0.1).load_state_dict({"state": {}}),
    ValueError,
    r"param_groups",
)


def _load_bad_index():
    opt = optim.Adam(_params())
    opt.load_state_dict(
        {"state": {5: {"step": 1}}, "param_groups": opt.state_dict()["param_groups"]}
    )


bad(CASES, "optim.load_state_dict.bad_index", _load_bad_index, ValueError, r"state.*5")


def _roundtrip_then_step():
    opt = _stepped_adam((3,))
    p = nn.Parameter(np.ones(3, np.float32))
    other = optim.Adam([p])
    other.load_state_dict(opt.state_dict())
    p.grad = pydl.ones(3)
    other.step()
    assert np.isfinite(p.numpy()).all()


works(CASES, "optim.load_state_dict.roundtrip", _roundtrip_then_step)


def _lr_tensor():
    p = _params()
    opt = optim.SGD(p, lr=pydl.tensor(0.5))
    p[0].grad = pydl.ones(3)
    opt.step()
    assert np.allclose(p[0].numpy(), 0.5)


works(CASES, "optim.SGD.lr_0d_tensor", _lr_tensor)


def _lr_numpy_and_int():
    p = _params()
    opt = optim.SGD(p, lr=np.float64(1), momentum=0)
    p[0].grad = pydl.ones(3)
    opt.step()
    assert np.allclose(p[0].numpy(), 0.0)


works(CASES, "optim.SGD.lr_numpy_scalar", _lr_numpy_and_int)
works(CASES, "optim.Adam.betas_list", lambda: optim.Adam(_params(), betas=[0.8, 0.9]))
works(CASES, "optim.SGD.params_generator", lambda: optim.SGD(iter(_params(2)), lr=0.1))

# ----- Lookahead ----------------------------------------------------------------------------

bad(
    CASES,
    "optim.Lookahead.k_zero",
    lambda: optim.Lookahead(optim.SGD(_params(), lr=0.1), k=0),
    ValueError,
    r"k.*0",
)
bad(
    CASES,
    "optim.Lookahead.k_float",
    lambda: optim.Lookahead(optim.SGD(_params(), lr=0.1), k=2.5),
    TypeError,
    r"k.*float",
)
bad(
    CASES,
    "optim.Lookahead.alpha_nan",
    lambda: optim.Lookahead(optim.SGD(_params(), lr=0.1), alpha=NAN),
    ValueError,
    r"alpha.*nan",
)
bad(
    CASES,
    "optim.Lookahead.not_optimizer",
    lambda: optim.Lookahead(_params()),
    TypeError,
    r"optimizer.*list",
)

# ----- lr schedulers ------------------------------------------------------------------------


def _opt():
    return optim.SGD(_params(), lr=0.1, momentum=0.9)


def _sched(cls, *args, **kwargs):
    return lambda: cls(_opt(), *args, **kwargs)


bad(
    CASES,
    "sched.StepLR.not_optimizer",
    lambda: sched.StepLR(_params(), 2),
    TypeError,
    r"list.*not an Optimizer",
)
bad(CASES, "sched.StepLR.step_size_zero", _sched(sched.StepLR, 0), ValueError, r"step_size.*0")
bad(CASES, "sched.StepLR.step_size_float", _sched(sched.StepLR, 2.5), TypeError, r"step_size.*2\.5")
bad(CASES, "sched.StepLR.gamma_nan", _sched(sched.StepLR, 2, gamma=NAN), ValueError, r"gamma.*nan")
bad(CASES, "sched.StepLR.gamma_str", _sched(sched.StepLR, 2, gamma="0.1"), TypeError, r"gamma.*str")
bad(
    CASES,
    "sched.MultiStepLR.milestones_int",
    _sched(sched.MultiStepLR, 3),
    TypeError,
    r"milestones.*int",
)
bad(
    CASES,
    "sched.MultiStepLR.milestones_str",
    _sched(sched.MultiStepLR, ["a"]),
    TypeError,
    r"milestones.*str",
)
bad(
    CASES,
    "sched.MultiStepLR.gamma_negative",
    _sched(sched.MultiStepLR, [2], gamma=-0.5),
    ValueError,
    r"gamma.*-0\.5",
)
bad(
    CASES,
    "sched.ExponentialLR.gamma_negative",
    _sched(sched.ExponentialLR, -0.5),
    ValueError,
    r"gamma.*-0\.5",
)
bad(
    CASES,
    "sched.ExponentialLR.gamma_inf",
    _sched(sched.ExponentialLR, INF),
    ValueError,
    r"gamma.*inf",
)
bad(
    CASES,
    "sched.ConstantLR.factor_above_one",
    _sched(sched.ConstantLR, factor=2.0),
    ValueError,
    r"factor.*between 0 and 1",
)
bad(
    CASES,
    "sched.ConstantLR.total_iters_negative",
    _sched(sched.ConstantLR, total_iters=-1),
    ValueError,
    r"total_iters.*-1",
)
bad(
    CASES,
    "sched.LinearLR.start_factor_zero",
    _sched(sched.LinearLR, start_factor=0.0),
    ValueError,
    r"Starting multiplicative factor",
)
bad(
    CASES,
    "sched.LinearLR.total_iters_zero",
    _sched(sched.LinearLR, total_iters=0),
    ValueError,
    r"total_iters.*0",
)
bad(
    CASES,
    "sched.PolynomialLR.total_iters_zero",
    _sched(sched.PolynomialLR, total_iters=0),
    ValueError,
    r"total_iters.*0",
)
bad(
    CASES,
    "sched.PolynomialLR.power_nan",
    _sched(sched.PolynomialLR, power=NAN),
    ValueError,
    r"power.*nan",
)
bad(
    CASES,
    "sched.CosineAnnealingLR.T_max_zero",
    _sched(sched.CosineAnnealingLR, 0),
    ValueError,
    r"T_max.*0",
)
bad(
    CASES,
    "sched.CosineAnnealingLR.eta_min_nan",
    _sched(sched.CosineAnnealingLR, 10, eta_min=NAN),
    ValueError,
    r"eta_min.*nan",
)
bad(
    CASES,
    "sched.CosineAnnealingWarmRestarts.T_0_zero",
    _sched(sched.CosineAnnealingWarmRestarts, 0),
    ValueError,
    r"T_0.*0",
)
bad(
    CASES,
    "sched.CosineAnnealingWarmRestarts.T_mult_float",
    _sched(sched.CosineAnnealingWarmRestarts, 5, T_mult=1.5),
    ValueError,
    r"T_mult.*1\.5",
)
bad(
    CASES,
    "sched.LambdaLR.not_callable",
    _sched(sched.LambdaLR, 0.5),
    TypeError,
    r"lr_lambda.*float",
)
bad(
    CASES,
    "sched.LambdaLR.wrong_count",
    _sched(sched.LambdaLR, [lambda e: 1.0] * 2),
    ValueError,
    r"Expected 1 lr_lambdas, but got 2",
)
bad(
    CASES,
    "sched.MultiplicativeLR.not_callable",
    _sched(sched.MultiplicativeLR, 0.5),
    TypeError,
    r"lr_lambda.*float",
)
bad(
    CASES,
    "sched.OneCycleLR.total_steps_zero",
    _sched(sched.OneCycleLR, 0.1, total_steps=0),
    ValueError,
    r"total_steps.*0",
)
bad(
    CASES,
    "sched.OneCycleLR.nothing",
    _sched(sched.OneCycleLR, 0.1),
    ValueError,
    r"total_steps.*epochs.*steps_per_epoch",
)
bad(
    CASES,
    "sched.OneCycleLR.pct_start_above_one",
    _sched(sched.OneCycleLR, 0.1, total_steps=10, pct_start=1.5),
    ValueError,
    r"pct_start.*1\.5",
)
bad(
    CASES,
    "sched.OneCycleLR.anneal_strategy",
    _sched(sched.OneCycleLR, 0.1, total_steps=10, anneal_strategy="sin"),
    ValueError,
    r"anneal_strategy.*sin",
)
bad(
    CASES,
    "sched.OneCycleLR.max_lr_nan",
    _sched(sched.OneCycleLR, NAN, total_steps=10),
    ValueError,
    r"max_lr.*nan",
)


def _onecycle_past_end():
    s = sched.OneCycleLR(_opt(), 0.1, total_steps=2)
    for _ in range(3):
        s.step()


bad(
    CASES,
    "sched.OneCycleLR.step_past_end",
    _onecycle_past_end,
    ValueError,
    r"step 3 times.*total steps is 2",
)
bad(
    CASES,
    "sched.CyclicLR.mode_bogus",
    _sched(sched.CyclicLR, 0.01, 0.1, mode="sine"),
    ValueError,
    r"mode is invalid",
)
bad(
    CASES,
    "sched.CyclicLR.step_size_up_zero",
    _sched(sched.CyclicLR, 0.01, 0.1, step_size_up=0),
    ValueError,
    r"step_size_up.*0",
)
bad(
    CASES,
    "sched.CyclicLR.max_lr_list_length",
    _sched(sched.CyclicLR, 0.01, [0.1, 0.2]),
    ValueError,
    r"max_lr.*same length",
)
bad(
    CASES,
    "sched.ReduceLROnPlateau.factor_one",
    _sched(sched.ReduceLROnPlateau, factor=1.0),
    ValueError,
    r"Factor should be < 1\.0",
)
bad(
    CASES,
    "sched.ReduceLROnPlateau.factor_negative",
    _sched(sched.ReduceLROnPlateau, factor=-0.5),
    ValueError,
    r"factor.*-0\.5",
)
bad(
    CASES,
    "sched.ReduceLROnPlateau.mode_bogus",
    _sched(sched.ReduceLROnPlateau, mode="mid"),
    ValueError,
    r"mode mid is unknown",
)
bad(
    CASES,
    "sched.ReduceLROnPlateau.threshold_mode_bogus",
    _sched(sched.ReduceLROnPlateau, threshold_mode="pct"),
    ValueError,
    r"threshold mode pct is unknown",
)
bad(
    CASES,
    "sched.ReduceLROnPlateau.patience_negative",
    _sched(sched.ReduceLROnPlateau, patience=-1),
    ValueError,
    r"patience.*-1",
)


def _plateau_step_str():
    s = sched.ReduceLROnPlateau(_opt())
    s.step("high")


bad(CASES, "sched.ReduceLROnPlateau.metric_str", _plateau_step_str, ValueError, r"metrics.*high")
bad(
    CASES,
    "sched.SequentialLR.no_schedulers",
    lambda: sched.SequentialLR(_opt(), [], milestones=[]),
    ValueError,
    r"at least one scheduler",
)


def _sequential_wrong_milestones():
    opt = _opt()
    a, b = sched.StepLR(opt, 2), sched.StepLR(opt, 3)
    return sched.SequentialLR(opt, [a, b], milestones=[1, 2])


bad(
    CASES,
    "sched.SequentialLR.milestones_length",
    _sequential_wrong_milestones,
    ValueError,
    r"number of schedulers 2 and the number of milestones.*2",
)


def _chained_other_optimizer():
    a, b = sched.StepLR(_opt(), 2), sched.StepLR(_opt(), 3)
    return sched.ChainedScheduler([a, b])


bad(
    CASES,
    "sched.ChainedScheduler.other_optimizer",
    _chained_other_optimizer,
    ValueError,
    r"same optimizer.*index 1",
)
bad(
    CASES,
    "sched.last_epoch_without_initial_lr",
    _sched(sched.StepLR, 2, last_epoch=3),
    KeyError,
    r"initial_lr",
)
bad(
    CASES,
    "sched.SWALR.swa_lr_negative",
    lambda: optim.swa_utils.SWALR(_opt(), swa_lr=-1.0),
    ValueError,
    r"swa_lr.*-1",
)
bad(
    CASES,
    "sched.SWALR.anneal_strategy",
    lambda: optim.swa_utils.SWALR(_opt(), swa_lr=0.1, anneal_strategy="sin"),
    ValueError,
    r"anneal_strategy.*sin",
)

# ----- clip_grad_norm_ / clip_grad_value_ ---------------------------------------------------


def _with_grad(n=2):
    ps = _params(n)
    for p in ps:
        p.grad = pydl.ones(3)
    return ps


bad(
    CASES,
    "clip.clip_grad_norm_.max_norm_nan",
    lambda: nn.utils.clip_grad_norm_(_with_grad(), NAN),
    ValueError,
    r"max_norm.*nan",
)
bad(
    CASES,
    "clip.clip_grad_norm_.max_norm_negative",
    lambda: nn.utils.clip_grad_norm_(_with_grad(), -1.0),
    ValueError,
    r"max_norm.*-1",
)
bad(
    CASES,
    "clip.clip_grad_norm_.max_norm_str",
    lambda: nn.utils.clip_grad_norm_(_with_grad(), "1"),
    TypeError,
    r"max_norm.*str",
)
bad(
    CASES,
    "clip.clip_grad_norm_.norm_type_str",
    lambda: nn.utils.clip_grad_norm_(_with_grad(), 1.0, norm_type="l2"),
    ValueError,
    r"norm_type.*l2",
)
bad(
    CASES,
    "clip.clip_grad_norm_.norm_type_nan",
    lambda: nn.utils.clip_grad_norm_(_with_grad(), 1.0, norm_type=NAN),
    ValueError,
    r"norm_type.*nan",
)
bad(
    CASES,
    "clip.clip_grad_value_.clip_value_nan",
    lambda: nn.utils.clip_grad_value_(_with_grad(), NAN),
    ValueError,
    r"clip_value.*nan",
)
bad(
    CASES,
    "clip.clip_grad_value_.clip_value_negative",
    lambda: nn.utils.clip_grad_value_(_with_grad(), -1.0),
    ValueError,
    r"clip_value.*-1",
)


def _clip_nonfinite():
    ps = _params()
    ps[0].grad = pydl.tensor(np.array([1.0, np.nan, 0.0], np.float32))
    nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


bad(CASES, "clip.clip_grad_norm_.nonfinite", _clip_nonfinite, RuntimeError, r"non-finite")


def _clip_inf_norm():
    ps = _with_grad()
    total = nn.utils.clip_grad_norm_(ps, 0.5, norm_type=INF)
    assert math.isclose(float(total), 1.0)
    assert np.allclose(ps[0].grad.numpy(), 0.5, rtol=1e-5)


works(CASES, "clip.clip_grad_norm_.inf_norm", _clip_inf_norm)
works(CASES, "clip.clip_grad_norm_.no_grads", lambda: nn.utils.clip_grad_norm_(_params(), 1.0))
works(
    CASES,
    "clip.clip_grad_norm_.one_tensor",
    lambda: nn.utils.clip_grad_norm_(_with_grad(1)[0], 1.0),
)


def _load_nan_lr():
    opt = optim.SGD(_params(), lr=0.1)
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = NAN
    try:
        opt.load_state_dict(sd)
    finally:
        assert opt.param_groups[0]["lr"] == 0.1  # all or nothing


bad(CASES, "optim.load_state_dict.lr_nan", _load_nan_lr, ValueError, r"learning rate.*nan")


def _load_zero_d_step():
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.Adam([p])
    p.grad = pydl.ones(3)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["step"] = np.array(1)  # a 0-d array (PyTorch keeps step as a tensor)
    opt.load_state_dict(sd)


works(CASES, "optim.load_state_dict.zero_d_step", _load_zero_d_step)

# ----- swa_utils ----------------------------------------------------------------------------

swa = optim.swa_utils
bad(
    CASES,
    "swa.AveragedModel.not_module",
    lambda: swa.AveragedModel(_params()),
    TypeError,
    r"averages a Module, got list",
)
bad(
    CASES,
    "swa.AveragedModel.both_fns",
    lambda: swa.AveragedModel(
        nn.Linear(2, 2), avg_fn=swa.get_swa_avg_fn(), multi_avg_fn=swa.get_swa_multi_avg_fn()
    ),
    ValueError,
    r"Only one of avg_fn and multi_avg_fn",
)
bad(
    CASES,
    "swa.AveragedModel.avg_fn_not_callable",
    lambda: swa.AveragedModel(nn.Linear(2, 2), avg_fn=0.99),
    TypeError,
    r"avg_fn must be callable, got float",
)
bad(
    CASES,
    "swa.get_ema_multi_avg_fn.decay_nan",
    lambda: swa.get_ema_multi_avg_fn(NAN),
    ValueError,
    r"decay value nan",
)
bad(
    CASES,
    "swa.get_ema_avg_fn.decay_above_one",
    lambda: swa.get_ema_avg_fn(1.5),
    ValueError,
    r"decay value 1\.5",
)


def _update_other_model():
    avg = swa.AveragedModel(nn.Linear(2, 2))
    avg.update_parameters(nn.Linear(3, 2))


bad(
    CASES,
    "swa.AveragedModel.update_other_model",
    _update_other_model,
    ValueError,
    r"not the model it was built from",
)


def _swa_average():
    m = nn.Linear(2, 1)
    avg = swa.AveragedModel(m)
    for v in (1.0, 3.0):
        m.weight.numpy()[...] = v
        avg.update_parameters(m)
    assert np.allclose(avg.module.weight.numpy(), 2.0)


works(CASES, "swa.AveragedModel.mean", _swa_average)


# ----- Lookahead and scheduler state dicts ---------------------------------------------------


def _lookahead_load_other():
    a = optim.Lookahead(optim.SGD(_params(2), lr=0.1))
    b = optim.Lookahead(optim.SGD(_params(1), lr=0.1))
    b.load_state_dict(a.state_dict())


bad(
    CASES,
    "optim.Lookahead.load_other",
    _lookahead_load_other,
    ValueError,
    r"different number of parameters",
)


def _step_closure_not_callable(cls):
    def call():
        p = _params()
        p[0].grad = pydl.ones(3)
        cls(p).step(0.5)

    return call


bad(
    CASES,
    "optim.SGD.step_closure_float",
    _step_closure_not_callable(lambda p: optim.SGD(p, lr=0.1)),
    TypeError,
    r"closure must be a function.*float",
)
bad(
    CASES,
    "optim.LBFGS.step_closure_float",
    _step_closure_not_callable(optim.LBFGS),
    TypeError,
    r"closure must be a function.*float",
)


def _closure_returns_loss():
    p = _params()
    opt = optim.Adam(p, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p[0] * p[0]).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 3.0 and np.all(p[0].numpy() < 1)


works(CASES, "optim.Adam.step_closure", _closure_returns_loss)
