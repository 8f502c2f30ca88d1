"""The five PyTorch counting tools as rule tables: tool -> layer kind -> rule.

Each table is pinned by reading the tool's source (versions in pyproject's test extra) and by
measuring it on single layers and random stacks (tests/test_conventions_tools.py). The rules see
the modules ``convcost.interop.torch.to_torch`` builds (or, for a node read from a torch module,
its ``Source``); "elements" below is per sample. Every tool counts the torch parameters: the
weights a torch build keeps as ``nn.Parameter`` (``Weight.buffer`` is False): conv and linear
weights and biases, BN's gamma and beta, not BN's running statistics.

FLOPs: one multiply-add is two floating-point operations; an element-wise operation (a bias add,
a BN scale or shift, an activation, a pooled element) is one. Most tools report a single count in
which an element-wise operation weighs as much as a multiply-add; that count is their "MACs".
"""

from __future__ import annotations

from collections.abc import Iterable

from convcost.conventions import Convention, Rule, register
from convcost.cost import Cost
from convcost.geometry import explicit_padding
from convcost.layer import Layer, Site, elements
from convcost.layers import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    Reshape,
    SeparableConv2D,
    Unknown,
    ZeroPadding2D,
)
from convcost.layers.elementwise import (
    Average,
    Divide,
    DropPath,
    Identity,
    LayerScale,
    Maximum,
    Minimum,
    Multiply,
    Normalization,
    PReLU,
    Rescaling,
    ScalarOp,
    Subtract,
)

_CONVS = (Conv2D, DepthwiseConv2D, SeparableConv2D)
#: kinds that hold no parameters and that no tool prices: moving values, merging, doing nothing
_FREE = (Flatten, Dropout, Reshape, ZeroPadding2D, Add, Concat, Unknown)


def _lumped(trainable: int, multiply_adds: int, elementwise: int = 0) -> Cost:
    """A tool's single count, multiply-adds and element-wise operations alike."""
    return Cost(trainable=trainable, macs=multiply_adds + elementwise, flops=2 * multiply_adds + elementwise)


def torch_params(layer: Layer, site: Site) -> int:
    """The parameters the torch module of ``layer`` holds (its weights that are not buffers)."""
    return sum(w.size for w in layer.weights(site) if not w.buffer)


def _bias(layer: Layer, site: Site) -> int:
    """A conv's or Dense's bias: one per output channel."""
    return sum(w.size for w in layer.weights(site) if w.name == "bias")


def _positions(site: Site) -> int:
    """Output pixels (or positions) per channel."""
    return elements(site.output[1:])


def _free(layer: Layer, site: Site) -> Cost:
    return Cost()


def _table(*entries: tuple[type[Layer] | Iterable[type[Layer]], Rule]) -> dict[type[Layer], Rule]:
    table: dict[type[Layer], Rule] = {}
    for kinds, rule in entries:
        for kind in kinds if isinstance(kinds, Iterable) else (kinds,):
            table[kind] = rule
    return table


# ---------------------------------------------------------------------------------------- torchinfo


def _torchinfo_conv(layer: Layer, site: Site) -> Cost:
    """A module whose class name contains "Conv" costs its weights and bias times the output pixels
    (a SeparableConv2D's two convs share the output size: the pointwise is 1x1, stride 1)."""
    params, bias = torch_params(layer, site), _bias(layer, site)
    times = _positions(site)
    return _lumped(params, (params - bias) * times, bias * times)


def _torchinfo_params_once(layer: Layer, site: Site) -> Cost:
    """Any other module with parameters (Linear, BatchNorm) costs its parameter count once per sample."""
    params, bias = torch_params(layer, site), _bias(layer, site)
    if isinstance(layer, BatchNorm):
        return _lumped(params, 0, params)
    return _lumped(params, params - bias, bias)


TORCHINFO = register(
    Convention(
        "torchinfo",
        "torchinfo 1.8 summary(): convs (weights + bias) x output pixels, Linear and BN their params, batch included",
        _table(
            (_CONVS, _torchinfo_conv),
            ((Dense, BatchNorm), _torchinfo_params_once),
            ((Activation, MaxPool2D, AvgPool2D, GlobalAvgPool2D, *_FREE), _free),
        ),
        flops_rule="conv bias adds per output element, a Linear's biases and BN's 2 per channel once per sample",
    )
)


# ---------------------------------------------------------------------------------------- fvcore


def _multiply_adds(layer: Layer, site: Site) -> Cost:
    """Conv and linear multiply-adds without bias (the paper's count), and the torch parameters."""
    return _lumped(torch_params(layer, site), layer.macs(site))


def _fvcore_batchnorm(layer: Layer, site: Site) -> Cost:
    """``aten::batch_norm`` (eval): one per element, two with gamma and beta."""
    params = torch_params(layer, site)
    return _lumped(params, 0, elements(site.input) * (2 if params else 1))


def _per_input_element(layer: Layer, site: Site) -> Cost:
    return _lumped(0, 0, elements(site.input))


FVCORE = register(
    Convention(
        "fvcore",
        "fvcore FlopCountAnalysis (eval mode): conv/linear multiply-adds without bias, BN 1-2 per element, "
        "adaptive avg pool 1 per input element",
        _table(
            ((*_CONVS, Dense), _multiply_adds),
            (BatchNorm, _fvcore_batchnorm),
            (GlobalAvgPool2D, _per_input_element),  # aten::adaptive_avg_pool2d
            ((Activation, MaxPool2D, AvgPool2D, *_FREE), _free),
        ),
        flops_rule="BN 1-2 per element, adaptive avg pool 1 per input element",
    )
)


# ---------------------------------------------------------------------------------------- thop


def _thop_batchnorm(layer: Layer, site: Site) -> Cost:
    """BatchNorm: 2 per element, 4 with gamma and beta."""
    params = torch_params(layer, site)
    return _lumped(params, 0, 2 * elements(site.input) * (2 if params else 1))


def _thop_activation(layer: Layer, site: Site) -> Cost:
    """Softmax 3*C - 1 per position; ReLU and the activations thop has no rule for nothing."""
    assert isinstance(layer, Activation)
    if layer.function != "softmax":
        return Cost()
    C = site.input[0]
    return _lumped(0, 0, (3 * C - 1) * elements(site.input[1:]))


def _per_output_element(layer: Layer, site: Site) -> Cost:
    return _lumped(0, 0, elements(site.output))


def _thop_global_pool(layer: Layer, site: Site) -> Cost:
    """nn.AdaptiveAvgPool2d (keepdims) costs (H*W + 1) per output element; the flattening
    GlobalAvgPool2d is a module thop does not know: nothing."""
    assert isinstance(layer, GlobalAvgPool2D)
    if not layer.keepdims:
        return Cost()
    return _lumped(0, 0, (elements(site.input[1:]) + 1) * site.input[0])


THOP = register(
    Convention(
        "thop",
        "thop profile(): conv/linear multiply-adds without bias, BN 2-4 per element, softmax and avg pools",
        _table(
            ((*_CONVS, Dense), _multiply_adds),
            (BatchNorm, _thop_batchnorm),
            (Activation, _thop_activation),
            (AvgPool2D, _per_output_element),
            (GlobalAvgPool2D, _thop_global_pool),
            ((MaxPool2D, *_FREE), _free),
        ),
        flops_rule="BN 2-4 per element, softmax 3C-1 per position, avg pools 1 per output element",
    )
)


# ---------------------------------------------------------------------------------------- ptflops

#: hooked modules count their output elements, and F.relu / F.elu / F.gelu / F.silu / F.softmax are
#: patched to count their input elements too, so a module that both is hooked and calls a patched
#: function (ReLU, ELU, GELU) counts every element twice.
_PTFLOPS_ACTIVATIONS = {
    "relu": 2,
    "elu": 2,
    "gelu": 2,
    "gelu_tanh": 2,  # nn.GELU(approximate="tanh"): the same module; nn.Mish is neither hooked nor patched
    "relu6": 1,
    "leaky_relu": 1,
    "silu": 1,
    "swish": 1,
    "softmax": 1,
}


def _pooled_elements(layer: MaxPool2D | AvgPool2D, site: Site) -> int:
    """Elements the torch pool module reads: padding torch cannot put inside the pool (asymmetric
    Keras 'same') is a pad module before it, so the pool sees the padded map."""
    C, H, W = site.input
    (top, bottom), (left, right) = explicit_padding(layer.padding, (H, W), layer.pool, layer.stride, (1, 1))
    if top == bottom and left == right:
        return elements(site.input)
    return C * (H + top + bottom) * (W + left + right)


def _ptflops_weighted(layer: Layer, site: Site) -> Cost:
    """Conv and linear multiply-adds plus one per output element for the bias."""
    bias_adds = elements(site.output) if _bias(layer, site) else 0
    return _lumped(torch_params(layer, site), layer.macs(site), bias_adds)


def _ptflops_batchnorm(layer: Layer, site: Site) -> Cost:
    params = torch_params(layer, site)
    return _lumped(params, 0, elements(site.input) * (2 if params else 1))


def _ptflops_activation(layer: Layer, site: Site) -> Cost:
    assert isinstance(layer, Activation)
    return _lumped(0, 0, _PTFLOPS_ACTIVATIONS.get(layer.function, 0) * elements(site.input))


def _ptflops_pool(layer: Layer, site: Site) -> Cost:
    """Every nn pooling module twice per element (module hook plus patched functional)."""
    assert isinstance(layer, (MaxPool2D, AvgPool2D))
    return _lumped(0, 0, 2 * _pooled_elements(layer, site))


def _ptflops_global_pool(layer: Layer, site: Site) -> Cost:
    """nn.AdaptiveAvgPool2d is hooked and patched; the flattening GlobalAvgPool2d only patched."""
    assert isinstance(layer, GlobalAvgPool2D)
    return _lumped(0, 0, (2 if layer.keepdims else 1) * elements(site.input))


PTFLOPS = register(
    Convention(
        "ptflops",
        "ptflops 0.7 (pytorch backend), one sample whatever the batch: bias adds, BN, ReLU and pools per element",
        _table(
            ((*_CONVS, Dense), _ptflops_weighted),
            (BatchNorm, _ptflops_batchnorm),
            (Activation, _ptflops_activation),
            ((MaxPool2D, AvgPool2D), _ptflops_pool),
            (GlobalAvgPool2D, _ptflops_global_pool),
            (_FREE, _free),
        ),
        per_sample=True,
        flops_rule="bias adds, BN 1-2 per element, activations 1-2 per element, pools 2 per input element",
    )
)


# ---------------------------------------------------------------------------------------- calflops

#: calflops patches these torch.nn.functional activations; nn.ReLU6 calls F.hardtanh, which it
#: does not patch, and Sigmoid, Tanh, SELU, Softplus, Hardswish, Hardsigmoid call unpatched functions
_CALFLOPS_ACTIVATIONS = frozenset({"relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "swish", "softmax"})


def _calflops(multiply_adds: int, elementwise: int, params: int = 0) -> Cost:
    """calflops keeps MACs (multiply-adds only) and FLOPs (2 x those + element-wise work) apart."""
    return Cost(trainable=params, macs=multiply_adds, flops=2 * multiply_adds + elementwise)


def _calflops_conv(layer: Layer, site: Site) -> Cost:
    """Multiply-adds without bias; one FLOP per output element for a conv's bias."""
    bias_adds = elements(site.output) if _bias(layer, site) else 0
    return _calflops(layer.macs(site), bias_adds, torch_params(layer, site))


def _calflops_dense(layer: Layer, site: Site) -> Cost:
    """A Linear's bias adds are not counted."""
    return _calflops(layer.macs(site), 0, torch_params(layer, site))


def _calflops_batchnorm(layer: Layer, site: Site) -> Cost:
    params = torch_params(layer, site)
    return _calflops(0, elements(site.input) * (2 if params else 1), params)


def _calflops_activation(layer: Layer, site: Site) -> Cost:
    assert isinstance(layer, Activation)
    return _calflops(0, elements(site.input) if layer.function in _CALFLOPS_ACTIVATIONS else 0)


def _calflops_pool(layer: Layer, site: Site) -> Cost:
    """One FLOP per element the pooling function reads."""
    assert isinstance(layer, (MaxPool2D, AvgPool2D))
    return _calflops(0, _pooled_elements(layer, site))


def _calflops_global_pool(layer: Layer, site: Site) -> Cost:
    """Both torch forms call F.adaptive_avg_pool2d: one FLOP per input element."""
    return _calflops(0, elements(site.input))


CALFLOPS = register(
    Convention(
        "calflops",
        "calflops 0.3 calculate_flops(): MACs are conv/linear multiply-adds only; FLOPs add element-wise work",
        _table(
            (_CONVS, _calflops_conv),
            (Dense, _calflops_dense),
            (BatchNorm, _calflops_batchnorm),
            (Activation, _calflops_activation),
            ((MaxPool2D, AvgPool2D), _calflops_pool),
            (GlobalAvgPool2D, _calflops_global_pool),
            (_FREE, _free),
        ),
        flops_rule="conv bias adds, BN 1-2 per element, ReLU/ELU/GELU/SiLU/softmax and pools 1 per input element",
        macs_include_elementwise=False,
    )
)

#: the tool conventions, in the order ``crosscheck --against all`` runs the tools
TOOL_CONVENTIONS = (TORCHINFO, FVCORE, THOP, PTFLOPS, CALFLOPS)


# ---------------------------------------------------------------------------------------- family A (issue 12)
# element-wise merges, arithmetic with a constant, preprocessing, learned scales, PReLU, identities,
# on the modules to_torch builds for them (convcost.interop.torch_modules): Python operators, which
# no tool patches, buffers for constants and statistics (no tool counts a buffer), and the standard
# nn.PReLU, nn.Identity, nn.Dropout2d / 1d where torch has them. docs/conventions.md has the table.
# The rules are added to the five tables above with ``Convention.with_rules``.

_ELEMENTWISE_FREE = (Multiply, Subtract, Divide, Maximum, Minimum, Average, ScalarOp, Rescaling, Normalization)
_IDENTITIES = (Identity, DropPath)


def _params_only(layer: Layer, site: Site) -> Cost:
    """The torch parameters, no work: gamma multiplied by a Python operator (``x * gamma``)."""
    return _lumped(torch_params(layer, site), 0)


def _is_nn_prelu(layer: PReLU, site: Site) -> bool:
    """Whether to_torch builds ``nn.PReLU`` (a slope per channel or one), or its ElementPReLU module."""
    return layer.shared != "element" or len(site.input) == 1


def _torchinfo_prelu(layer: Layer, site: Site) -> Cost:
    """Both torch forms hold a parameter named ``weight`` in a class without "Conv" in its name: its
    size, once per sample (nn.PReLU(C) costs C whatever the map; ElementPReLU C x H x W)."""
    params = torch_params(layer, site)
    return _lumped(params, 0, params)


def _thop_prelu(layer: Layer, site: Site) -> Cost:
    """nn.PReLU is registered (count_prelu: one per input element in eval); ElementPReLU is a module
    thop does not know: no operations and no parameters."""
    assert isinstance(layer, PReLU)
    if not _is_nn_prelu(layer, site):
        return Cost()
    return _lumped(torch_params(layer, site), 0, elements(site.input))


def _ptflops_prelu(layer: Layer, site: Site) -> Cost:
    """nn.PReLU is hooked (output elements) and calls the patched F.prelu (input elements): twice per
    element. ElementPReLU (torch.where and an operator) costs nothing."""
    assert isinstance(layer, PReLU)
    work = 2 * elements(site.input) if _is_nn_prelu(layer, site) else 0
    return _lumped(torch_params(layer, site), 0, work)


def _calflops_prelu(layer: Layer, site: Site) -> Cost:
    """F.prelu is patched: one FLOP per input element. ElementPReLU calls no patched function."""
    assert isinstance(layer, PReLU)
    work = elements(site.input) if _is_nn_prelu(layer, site) else 0
    return _calflops(0, work, torch_params(layer, site))


_FAMILY_A_RULES: dict[str, dict[type[Layer], Rule]] = {
    "torchinfo": _table(
        ((*_ELEMENTWISE_FREE, *_IDENTITIES), _free),
        (LayerScale, _params_only),  # its parameter is named gamma: torchinfo prices only weight and bias
        (PReLU, _torchinfo_prelu),
    ),
    "fvcore": _table(
        # aten::mul / add / sub / div / maximum / minimum / pow / sqrt / where / prelu have no handle
        ((*_ELEMENTWISE_FREE, *_IDENTITIES), _free),
        ((LayerScale, PReLU), _params_only),
    ),
    "thop": _table(
        # custom modules and nn.Identity are not registered; LayerScale's gamma sits on one: not counted
        ((*_ELEMENTWISE_FREE, *_IDENTITIES, LayerScale), _free),
        (PReLU, _thop_prelu),
    ),
    "ptflops": _table(
        ((*_ELEMENTWISE_FREE, *_IDENTITIES), _free),
        (LayerScale, _params_only),
        (PReLU, _ptflops_prelu),
    ),
    "calflops": _table(
        ((*_ELEMENTWISE_FREE, *_IDENTITIES), _free),
        (LayerScale, lambda layer, site: _calflops(0, 0, torch_params(layer, site))),
        (PReLU, _calflops_prelu),
    ),
}


def _with_family_a(tool: Convention) -> Convention:
    return register(tool.with_rules(_FAMILY_A_RULES[tool.name]))


TORCHINFO = _with_family_a(TORCHINFO)
FVCORE = _with_family_a(FVCORE)
THOP = _with_family_a(THOP)
PTFLOPS = _with_family_a(PTFLOPS)
CALFLOPS = _with_family_a(CALFLOPS)
TOOL_CONVENTIONS = (TORCHINFO, FVCORE, THOP, PTFLOPS, CALFLOPS)


# ---------------------------------------------------------------------------------------- issue 12, family B
# Normalisation (layer, group, instance), global / adaptive / 1-D pooling and 1-D convolutions, on
# the modules to_torch builds (nn.LayerNorm, or its LayerNormOverAxis container; nn.GroupNorm;
# nn.InstanceNorm1d/2d; nn.AdaptiveAvgPool2d / AdaptiveMaxPool2d; nn.MaxPool1d, AvgPool1d;
# nn.AdaptiveAvgPool1d(1) / AdaptiveMaxPool1d(1), or a module calling F.adaptive_*_pool*d then
# flatten; nn.Conv1d, behind nn.ZeroPad1d for asymmetric padding). Pinned by
# tests/test_kinds_normalization.py, test_kinds_pooling.py and test_kinds_conv1d.py.

from convcost.geometry import explicit_padding1d  # noqa: E402
from convcost.layers import (  # noqa: E402
    AdaptiveAvgPool2D,
    AdaptiveMaxPool2D,
    AvgPool1D,
    Conv1D,
    DepthwiseConv1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    MaxPool1D,
    SeparableConv1D,
)

_CONVS_1D = (Conv1D, DepthwiseConv1D, SeparableConv1D)
_NORMS = (LayerNorm, GroupNorm, InstanceNorm)
#: the max pools: torchinfo, fvcore and thop count nothing for them (ptflops and calflops do)
_MAX_POOLS = (GlobalMaxPool2D, AdaptiveMaxPool2D, MaxPool1D, GlobalMaxPool1D)


def _has_gamma(layer: Layer) -> bool:
    """The norm's torch module holds a weight (gamma): LayerNorm's ``elementwise_affine``, the
    others' ``affine``."""
    if isinstance(layer, LayerNorm):
        return layer.scale
    if isinstance(layer, GroupNorm):
        return layer.scale and layer.center
    assert isinstance(layer, InstanceNorm)
    return layer.affine


def _torchinfo_norm(layer: Layer, site: Site) -> Cost:
    """A leaf with ``weight`` / ``bias`` parameters and no "Conv" in its name: its parameter count once."""
    params = torch_params(layer, site)
    return _lumped(params, 0, params)


def _norm_estimate(layer: Layer, site: Site) -> int:
    """fvcore's ``norm_flop_counter`` and calflops' layer/group/instance norm: 5 per input element
    when the weight argument is a tensor, else 4 (whatever the mode and the running statistics)."""
    return (5 if _has_gamma(layer) else 4) * elements(site.input)


def _fvcore_norm(layer: Layer, site: Site) -> Cost:
    return _lumped(torch_params(layer, site), 0, _norm_estimate(layer, site))


def _thop_norm(layer: Layer, site: Site) -> Cost:
    """``count_normalization`` (LayerNorm, InstanceNorm*d): 2 per element, 4 with ``affine`` or
    ``elementwise_affine``; nn.GroupNorm is not in thop's table: nothing, not even its parameters."""
    if isinstance(layer, GroupNorm):
        return Cost()
    return _lumped(torch_params(layer, site), 0, 2 * elements(site.input) * (2 if _has_gamma(layer) else 1))


def _ptflops_norm(layer: Layer, site: Site) -> Cost:
    """``bn_flops_counter_hook``: 1 per element, 2 when the module has a true ``affine`` attribute,
    which nn.LayerNorm has not (it has ``elementwise_affine``): LayerNorm is always 1."""
    affine = not isinstance(layer, LayerNorm) and _has_gamma(layer)
    return _lumped(torch_params(layer, site), 0, elements(site.input) * (2 if affine else 1))


def _calflops_norm(layer: Layer, site: Site) -> Cost:
    return _calflops(0, _norm_estimate(layer, site), torch_params(layer, site))


def _thop_adaptive(layer: Layer, site: Site, batch: int) -> Cost:
    """``count_adap_avgpool``: ``int((prod(in / out) + 1) * output elements)`` in float64 over the
    whole batch (the truncation is of the batch's product, so this is a batch rule)."""
    C, H, W = site.input
    n, m = site.output[1:]
    return _lumped(0, 0, int(((H / n) * (W / m) + 1) * (batch * C * n * m)))


def _thop_adaptive_one(layer: Layer, site: Site) -> Cost:
    return _thop_adaptive(layer, site, 1)


def _thop_global_pool1d(layer: Layer, site: Site) -> Cost:
    """nn.AdaptiveAvgPool1d(1) (keepdims) costs (L + 1) per channel; the flattening module, unknown, nothing."""
    assert isinstance(layer, GlobalAvgPool1D)
    C, L = site.input
    return _lumped(0, 0, (L + 1) * C) if layer.keepdims else Cost()


def _pooled_elements1d(layer: MaxPool1D | AvgPool1D, site: Site) -> int:
    """Elements the torch pool module reads (a pad module before it for asymmetric padding)."""
    C, L = site.input
    left, right = explicit_padding1d(layer.padding, L, layer.pool, layer.stride, 1)
    return C * L if left == right else C * (L + left + right)


def _ptflops_pool1d(layer: Layer, site: Site) -> Cost:
    """Module hook and patched functional: 2 per element read."""
    assert isinstance(layer, (MaxPool1D, AvgPool1D))
    return _lumped(0, 0, 2 * _pooled_elements1d(layer, site))


def _calflops_pool1d(layer: Layer, site: Site) -> Cost:
    assert isinstance(layer, (MaxPool1D, AvgPool1D))
    return _calflops(0, _pooled_elements1d(layer, site))


def _ptflops_keepdims_pool(layer: Layer, site: Site) -> Cost:
    """A global pool with ``keepdims`` is an nn.Adaptive*Pool module (hooked, and its functional
    patched: 2 per input element); without, a module calling the functional only (1 per element)."""
    assert isinstance(layer, (GlobalMaxPool2D, GlobalAvgPool1D, GlobalMaxPool1D))
    return _lumped(0, 0, (2 if layer.keepdims else 1) * elements(site.input))


def _ptflops_adaptive(layer: Layer, site: Site) -> Cost:
    return _lumped(0, 0, 2 * elements(site.input))


def _calflops_per_input_element(layer: Layer, site: Site) -> Cost:
    return _calflops(0, elements(site.input))


TORCHINFO = register(
    TORCHINFO.with_rules(
        _table(
            (_CONVS_1D, _torchinfo_conv),
            (_NORMS, _torchinfo_norm),
            ((*_MAX_POOLS, AdaptiveAvgPool2D, AvgPool1D, GlobalAvgPool1D), _free),
        )
    )
)
FVCORE = register(
    FVCORE.with_rules(
        _table(
            (_CONVS_1D, _multiply_adds),
            (_NORMS, _fvcore_norm),
            (AdaptiveAvgPool2D, _per_input_element),  # aten::adaptive_avg_pool2d; the 1-D op has no handle
            ((*_MAX_POOLS, AvgPool1D, GlobalAvgPool1D), _free),
        )
    )
)
THOP = register(
    THOP.with_rules(
        _table(
            (_CONVS_1D, _multiply_adds),
            (_NORMS, _thop_norm),
            (AdaptiveAvgPool2D, _thop_adaptive_one),
            (AvgPool1D, _per_output_element),
            (GlobalAvgPool1D, _thop_global_pool1d),
            (_MAX_POOLS, _free),
        ),
        batch_rules={AdaptiveAvgPool2D: _thop_adaptive},
    )
)
PTFLOPS = register(
    PTFLOPS.with_rules(
        _table(
            (_CONVS_1D, _ptflops_weighted),
            (_NORMS, _ptflops_norm),
            ((MaxPool1D, AvgPool1D), _ptflops_pool1d),
            ((GlobalMaxPool2D, GlobalAvgPool1D, GlobalMaxPool1D), _ptflops_keepdims_pool),
            ((AdaptiveAvgPool2D, AdaptiveMaxPool2D), _ptflops_adaptive),
        )
    )
)
CALFLOPS = register(
    CALFLOPS.with_rules(
        _table(
            (_CONVS_1D, _calflops_conv),
            (_NORMS, _calflops_norm),
            ((MaxPool1D, AvgPool1D), _calflops_pool1d),
            (
                (GlobalMaxPool2D, AdaptiveAvgPool2D, AdaptiveMaxPool2D, GlobalAvgPool1D, GlobalMaxPool1D),
                _calflops_per_input_element,
            ),
        )
    )
)
TOOL_CONVENTIONS = (TORCHINFO, FVCORE, THOP, PTFLOPS, CALFLOPS)
