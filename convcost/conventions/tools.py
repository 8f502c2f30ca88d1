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

Nodes read from a torch module (``convcost.from_torch``) carry what the tool saw of them
(``convcost.interop.torch_source.TorchDetails``): each tool's ``source_rule`` prices them as the
tool prices user models, by module where the tool counts modules (torchinfo: modules that own
parameters, by class name; thop and ptflops: module types they register, exact type only), by the
functions the tool patches as they were called (ptflops, calflops), by the op and how it was called
(fvcore: string padding prices a convolution at 0, a BatchNorm in training mode costs 4-5 per
element). Shapes there are per sample: the module rules are linear in the batch and are multiplied
by it (thop's float rounding of uneven adaptive pools is reproduced at batch 1); the patched
functions are priced as called at the real batch, so counts that are not linear in it (ptflops'
and calflops' ``F.interpolate(size=...)``, calflops' left-aligned broadcast of unequal ranks) are
the tool's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeGuard

from convcost.conventions import Convention, Rule
from convcost.conventions import _add as register  # built-ins: register() would load this module
from convcost.cost import Cost
from convcost.errors import MissingRuleError
from convcost.geometry import explicit_padding
from convcost.layer import Layer, Site, elements

# Family C (issue 12)
from convcost.layers import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    ChannelShuffle,
    Concat,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Cropping1D,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    Pad2D,
    Permute,
    Reshape,
    Resize,
    SeparableConv2D,
    Slice,
    Unknown,
    UpSampling2D,
    WeightOp,
    ZeroPadding1D,
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
from convcost.layers.transposed import torch_transposed, torch_transposed_length

if TYPE_CHECKING:
    from convcost.interop.torch_source import CalledModule, FunctionCall, TensorArg, TorchDetails


# what a node read from torch carries: imported when a tool prices such a node, not with the
# conventions (``import convcost`` and the analytic commands never need it)
def torch_details(site: Site) -> TorchDetails | None:
    from convcost.interop.torch_source import torch_details as details

    return details(site)


def _is_tensor(value: object) -> TypeGuard[TensorArg]:
    from convcost.interop.torch_source import TensorArg

    return isinstance(value, TensorArg)


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


def _parameters(layer: Layer, site: Site) -> Cost:
    """The torch parameters and no work: a tensor applied by a Python operator (WeightOp's ``x * w``),
    which no tool prices; its parameter is named ``value``, not ``weight``, so torchinfo does not either."""
    return _lumped(torch_params(layer, site), 0)


def _counted(d: TorchDetails, multiply_adds: int, elementwise: int, *, frozen_too: bool = True) -> Cost:
    """A tool's single count for a node read from torch, with the parameter tensors counted at it
    (``frozen_too``: the tool counts parameters that are not trained, as torchinfo and fvcore do)."""
    return Cost(
        trainable=d.trainable(),
        non_trainable=d.frozen() if frozen_too else 0,
        macs=multiply_adds + elementwise,
        flops=2 * multiply_adds + elementwise,
    )


def _numel(value: Any) -> int:
    return value.numel if _is_tensor(value) else 0


def _shape(value: Any) -> tuple[int, ...]:
    return value.shape if _is_tensor(value) else ()


def _broadcast(a: Any, b: Any) -> int:
    """ptflops' and calflops' element count of ``a op b``: shapes aligned from the LEFT (missing
    trailing dims are 1), the larger size per dim; a number operand counts the tensor's elements."""
    if not _is_tensor(a):
        return b.numel if _is_tensor(b) else 1
    if not _is_tensor(b):
        return a.numel
    rank = max(len(a.shape), len(b.shape))
    dims = [max(a.shape[i] if i < len(a.shape) else 1, b.shape[i] if i < len(b.shape) else 1) for i in range(rank)]
    return math.prod(dims)


def _whole_batch(cost: Cost, batch: int) -> Cost:
    """A one-sample count of a tool whose formula is linear in the batch, for ``batch`` samples."""
    return Cost(cost.trainable, cost.non_trainable, cost.macs * batch, cost.flops * batch)


def _module_rule(rules: dict[str, Any], module: CalledModule, tool: str) -> tuple[int, int]:
    """``(multiply-adds, element-wise)`` of one module call under a tool's hook for its exact type."""
    rule = rules[module.cls]
    if rule is None:
        raise MissingRuleError(f"{tool}'s hook for {module.cls} is not reproduced (module '{module.path}')")
    result: tuple[int, int] = rule(module)
    return result


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


def _torchinfo_read(layer: Layer, site: Site, batch: int) -> Cost | None:
    """torchinfo on a user model: each module call it hooks costs by its own parameters named
    ``weight`` and ``bias`` (and names containing them), times the output positions when the class
    name contains "Conv", times the batch otherwise; only leaf modules' costs are added. Its
    parameters: each module's own, once per module (a tensor tied into two modules counts twice),
    plus those of modules below it that never ran."""
    d = torch_details(site)
    if d is None:
        return None
    trainable = frozen = multiply_adds = elementwise = 0
    weighted = layer.macs(site) > 0  # a conv's or linear's weight is multiply-adds, a norm's element-wise
    for module in d.modules:
        if module.first_call:
            for p in (*module.parameters, *module.absorbed):
                trainable, frozen = (trainable + p.numel, frozen) if p.trainable else (trainable, frozen + p.numel)
        out = module.output
        if not module.leaf or out is None:
            continue
        for p in module.parameters:
            if p.name in ("weight", "bias"):
                times = math.prod(out[:1] + out[2:]) if "Conv" in module.name else out[0]
            elif "weight" in p.name or "bias" in p.name:
                times = math.prod(out[:2])
            else:
                continue
            if weighted and "bias" not in p.name:
                multiply_adds += p.numel * times
            else:
                elementwise += p.numel * times
    work = batch * (multiply_adds + elementwise)
    return Cost(trainable, frozen, work, work + batch * multiply_adds)


TORCHINFO = register(
    Convention(
        "torchinfo",
        "torchinfo 1.8 summary(): convs (weights + bias) x output pixels, Linear and BN their params, batch included",
        _table(
            (_CONVS, _torchinfo_conv),
            ((Dense, BatchNorm), _torchinfo_params_once),
            ((Activation, MaxPool2D, AvgPool2D, GlobalAvgPool2D, *_FREE), _free),
            (WeightOp, _parameters),
        ),
        flops_rule="conv bias adds per output element, a Linear's biases and BN's 2 per channel once per sample",
        source_rule=_torchinfo_read,
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


_CONV_FUNCTIONS = ("F.conv1d", "F.conv2d", "F.conv3d")


def _fvcore_read(layer: Layer, site: Site, batch: int) -> Cost | None:
    """fvcore on a user model: the op's rule, as the JIT trace sees how it was called. A convolution
    given string padding traces as ``aten::_convolution_mode``, which fvcore does not price; a mean
    over H and W is ``aten::mean`` (0), only ``F.adaptive_avg_pool2d`` is priced; fvcore traces the
    model in its own mode, so a BatchNorm in training mode costs 4 per element (5 with gamma and
    beta). Parameters: every parameter tensor once, trained or not."""
    d = torch_details(site)
    return None if d is None else _whole_batch(_fvcore_sample(layer, site, d), batch)


def _fvcore_sample(layer: Layer, site: Site, d: TorchDetails) -> Cost:
    if isinstance(layer, BatchNorm) and d.training:
        return _counted(d, 0, elements(site.input) * (5 if torch_params(layer, site) else 4))
    if isinstance(layer, GlobalAvgPool2D) and not any(d.calls("F.adaptive_avg_pool2d")):
        return _counted(d, 0, 0)
    if isinstance(layer, _CONVS) and any(
        isinstance(f.bind("input", "weight", "bias", "stride", "padding").get("padding"), str)
        for f in d.calls(*_CONV_FUNCTIONS)
    ):
        return _counted(d, 0, 0)
    kind = FVCORE.rule(type(layer))(layer, site)
    multiply_adds, elementwise = kind.flops - kind.macs, 2 * kind.macs - kind.flops
    return _counted(d, multiply_adds, elementwise)


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
            (WeightOp, _parameters),  # aten::add / mul / sub / div have no handle
        ),
        flops_rule="BN 1-2 per element, adaptive avg pool 1 per input element",
        source_rule=_fvcore_read,
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


_NN = "torch.nn.modules."


def _nn(module: str, *names: str) -> tuple[str, ...]:
    """Qualified torch.nn class names (what a node's module records): ``torch.nn.modules.conv.Conv2d``."""
    return tuple(f"{_NN}{module}.{name}" for name in names)


def _thop_conv(m: CalledModule) -> tuple[int, int]:
    """``count_convNd``: output elements x input channels / groups x kernel elements (transposed too)."""
    assert m.input is not None and m.output is not None
    kernel = math.prod(m.attribute("kernel_size", ()))
    return math.prod(m.output) * (m.input[1] // m.attribute("groups", 1)) * kernel, 0


def _thop_normalization_hook(m: CalledModule) -> tuple[int, int]:
    """``count_normalization``: 2 per input element, 4 with an affine (or elementwise_affine) transform."""
    assert m.input is not None
    affine = m.attribute("affine", False) or m.attribute("elementwise_affine", False)
    return 0, 2 * math.prod(m.input) * (2 if affine else 1)


def _thop_softmax(m: CalledModule) -> tuple[int, int]:
    assert m.input is not None
    features = m.input[m.attribute("dim")]
    return 0, math.prod(m.input) // features * (3 * features - 1)


def _thop_adaptive_avg(m: CalledModule) -> tuple[int, int]:
    """``count_adap_avgpool``: (kernel + 1) per output element, the kernel a float64 ratio product."""
    assert m.input is not None and m.output is not None
    kernel = 1.0
    for a, b in zip(m.input[2:], m.output[2:], strict=True):
        kernel *= a / b
    return 0, int((kernel + 1) * math.prod(m.output))


#: thop's ``calculate_upsample`` per output element, by mode (others: 0, with a warning)
_THOP_UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259, "trilinear": 31}


def _zero(m: CalledModule) -> tuple[int, int]:
    return 0, 0


def _output_elements(m: CalledModule) -> tuple[int, int]:
    assert m.output is not None
    return 0, math.prod(m.output)


def _input_elements(m: CalledModule) -> tuple[int, int]:
    assert m.input is not None
    return 0, math.prod(m.input)


#: thop's ``register_hooks``, exact types: the MACs of one call (None: a hook convcost does not reproduce)
_THOP_MODULES: dict[str, Any] = {
    **dict.fromkeys(
        _nn("conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"), _thop_conv
    ),
    **dict.fromkeys(
        (
            *_nn("batchnorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"),
            *_nn("normalization", "LayerNorm"),
            *_nn("instancenorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"),
        ),
        _thop_normalization_hook,
    ),
    f"{_NN}activation.PReLU": _input_elements,  # count_prelu, thop runs in eval
    f"{_NN}activation.Softmax": _thop_softmax,
    **dict.fromkeys(
        (
            *_nn("padding", "ZeroPad2d"),
            *_nn("activation", "ReLU", "ReLU6", "LeakyReLU"),
            *_nn("pooling", "MaxPool1d", "MaxPool2d", "MaxPool3d"),
            *_nn("pooling", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"),
            *_nn("dropout", "Dropout"),
            *_nn("container", "Sequential"),
            *_nn("pixelshuffle", "PixelShuffle"),
        ),
        _zero,
    ),
    **dict.fromkeys(_nn("pooling", "AvgPool1d", "AvgPool2d", "AvgPool3d"), _output_elements),
    **dict.fromkeys(_nn("pooling", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"), _thop_adaptive_avg),
    f"{_NN}linear.Linear": lambda m: (m.attribute("in_features") * math.prod(m.output), 0),
    **dict.fromkeys(
        _nn("upsampling", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"),
        lambda m: (0, _THOP_UPSAMPLE.get(m.attribute("mode"), 0) * math.prod(m.output)),
    ),
    **dict.fromkeys(_nn("rnn", "RNNCell", "GRUCell", "LSTMCell", "RNN", "GRU", "LSTM"), None),
}
#: a registered module thop does not look inside (dfs_count stops there): all but the containers
_THOP_STOPS = frozenset(_THOP_MODULES) - {f"{_NN}container.Sequential"}


def _thop_read(layer: Layer, site: Site, batch: int) -> Cost | None:
    """thop on a user model: only modules of a type it registers (exact type: a subclass is
    unknown) cost anything, by their hooks; their parameters are ``module.parameters()``, counted
    once per module that ran, except the root's. Parameters elsewhere are lost, as thop loses them."""
    d = torch_details(site)
    if d is None:
        return None
    params = multiply_adds = elementwise = 0
    for m in d.modules:
        if m.cls not in _THOP_STOPS or any(a in _THOP_STOPS for a in m.ancestors[1:]):
            continue  # not hooked, a container thop looks inside, or inside a module it does not
        ma, ew = _module_rule(_THOP_MODULES, m, "thop")
        multiply_adds, elementwise = multiply_adds + ma, elementwise + ew
        if m.first_call and not m.is_root:
            params += m.subtree
    work = batch * (multiply_adds + elementwise)
    return Cost(trainable=params, macs=work, flops=work + batch * multiply_adds)


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
            (WeightOp, _free),  # a module thop does not know: neither its work nor its parameter
        ),
        flops_rule="BN 2-4 per element, softmax 3C-1 per position, avg pools 1 per output element",
        source_rule=_thop_read,
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


def _ptflops_conv(m: CalledModule, transposed: bool = False) -> tuple[int, int]:
    """``conv_flops_counter_hook``: kernel x Cin x Cout / groups per position (output positions, or
    the input's for a transposed conv), plus one bias add per output element."""
    assert m.input is not None and m.output is not None
    per_position = math.prod(m.attribute("kernel_size", ())) * (
        m.attribute("in_channels") * (m.attribute("out_channels") // m.attribute("groups", 1))
    )
    positions = m.input[0] * math.prod((m.input if transposed else m.output)[2:])
    bias = m.input[0] * math.prod(m.output[1:]) if m.has_parameter("bias") else 0
    return per_position * positions, bias


def _ptflops_bn(m: CalledModule) -> tuple[int, int]:
    """``bn_flops_counter_hook``: input elements, x2 if the module has a true ``affine`` (LayerNorm has none)."""
    assert m.input is not None
    return 0, math.prod(m.input) * (2 if m.attribute("affine") is True else 1)


def _ptflops_linear(m: CalledModule) -> tuple[int, int]:
    assert m.input is not None and m.output is not None
    rows = math.prod(m.input[:-1])
    bias = m.output[-1] if m.has_parameter("bias") else 0
    return m.input[-1] * m.output[-1] * rows, bias * rows


#: ptflops' ``MODULES_MAPPING``, exact types (None: a hook convcost does not reproduce)
_PTFLOPS_MODULES: dict[str, Any] = {
    **dict.fromkeys(_nn("conv", "Conv1d", "Conv2d", "Conv3d"), _ptflops_conv),
    **dict.fromkeys(
        _nn("conv", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"), lambda m: _ptflops_conv(m, True)
    ),
    **dict.fromkeys(_nn("activation", "ReLU", "PReLU", "ELU", "LeakyReLU", "ReLU6", "GELU"), _output_elements),
    **dict.fromkeys(
        _nn(
            "pooling",
            "MaxPool1d",
            "AvgPool1d",
            "AvgPool2d",
            "MaxPool2d",
            "MaxPool3d",
            "AvgPool3d",
            "AdaptiveMaxPool1d",
            "AdaptiveAvgPool1d",
            "AdaptiveMaxPool2d",
            "AdaptiveAvgPool2d",
            "AdaptiveMaxPool3d",
            "AdaptiveAvgPool3d",
        ),
        _input_elements,
    ),
    **dict.fromkeys(
        (
            *_nn("batchnorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"),
            *_nn("instancenorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"),
            *_nn("normalization", "GroupNorm", "LayerNorm"),
        ),
        _ptflops_bn,
    ),
    f"{_NN}linear.Linear": _ptflops_linear,
    # upsample_flops_counter_hook reads output[0]: the first sample's elements
    f"{_NN}upsampling.Upsample": lambda m: (0, math.prod(m.output[1:])),
    **dict.fromkeys(
        (*_nn("rnn", "RNN", "GRU", "LSTM", "RNNCell", "LSTMCell", "GRUCell"), f"{_NN}activation.MultiheadAttention"),
        None,
    ),
}


def _ptflops_interpolate(f: FunctionCall) -> int:
    """``_interpolate_functional_flops_hook``: from ``size`` when given, else the input times the scale."""
    args = f.bind("input", "size", "scale_factor")
    x = args.get("input")
    rank = len(_shape(x)) - 2
    size = args.get("size")
    if size is not None:
        per_channel = math.prod(size) if isinstance(size, tuple) else int(size) ** rank
        return int(per_channel) * math.prod(_shape(x)[:2])
    scale = args.get("scale_factor")
    if isinstance(scale, tuple) and len(scale) == rank:
        return _numel(x) * int(math.prod(scale))
    return int(_numel(x) * float(scale or 0) ** rank)


_PTFLOPS_NUMEL = frozenset(
    {
        "F.relu",
        "F.prelu",
        "F.elu",
        "F.relu6",
        "F.gelu",
        "F.silu",
        "F.softmax",
        *(f"F.{kind}_pool{n}d" for kind in ("avg", "max", "adaptive_avg", "adaptive_max") for n in (1, 2, 3)),
    }
)
_MATMULS = ("torch.matmul", "Tensor.matmul", "torch.mm", "Tensor.mm", "torch.bmm", "Tensor.bmm")
_ELEMENTWISE = ("torch.mul", "Tensor.mul", "torch.add", "Tensor.add")


def _ptflops_function(f: FunctionCall) -> tuple[int, int]:
    """``(multiply-adds, element-wise)`` of one call ptflops patches (0, 0 for the others)."""
    name = f.function
    if name in _PTFLOPS_NUMEL:
        return 0, _numel(f.bind("input").get("input"))
    if name in ("F.interpolate", "F.upsample"):
        return 0, _ptflops_interpolate(f)
    if name in _MATMULS:
        args = f.bind("input", "other")
        return _numel(args.get("input")) * _shape(args.get("other"))[-1], 0
    if name in ("torch.addmm", "Tensor.addmm", "torch.baddbmm"):
        args = f.bind("input", "mat1", "mat2")
        added = _numel(args.get("input")) if args.get("beta", 1) != 0 else 0
        return _numel(args.get("mat1")) * _shape(args.get("mat2"))[-1], added
    if name in _ELEMENTWISE:
        args = f.bind("input", "other")
        return 0, _broadcast(args.get("input"), args.get("other"))
    return 0, 0


def _ptflops_read(layer: Layer, site: Site, batch: int) -> Cost | None:
    """ptflops on a user model: modules of the types it hooks (exact type) that no hooked module
    holds, by their hooks, plus every call of the functions and tensor methods it patches (so a
    hooked module that calls a patched function counts twice). One sample; parameters: every
    trained tensor once."""
    d = torch_details(site)
    if d is None:
        return None
    multiply_adds = elementwise = 0
    for m in d.modules:
        if m.cls in _PTFLOPS_MODULES and not any(a in _PTFLOPS_MODULES for a in m.ancestors):
            ma, ew = _module_rule(_PTFLOPS_MODULES, m, "ptflops")
            multiply_adds, elementwise = multiply_adds + batch * ma, elementwise + batch * ew
    for f in d.functions:
        ma, ew = _ptflops_function(f.at(batch))
        multiply_adds, elementwise = multiply_adds + ma, elementwise + ew
    return _counted(d, multiply_adds, elementwise, frozen_too=False)


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
            (WeightOp, _parameters),
        ),
        per_sample=True,
        flops_rule="bias adds, BN 1-2 per element, activations 1-2 per element, pools 2 per input element",
        source_rule=_ptflops_read,
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


def _calflops_conv_call(f: FunctionCall) -> tuple[int, int]:
    """``_conv_flops_compute``: the output size worked out again from the arguments ('same' as
    d*(k-1)//2 on each side); FLOPs are 2 x MACs plus one bias add per output element."""
    a = f.bind("input", "weight", "bias", "stride", "padding", "dilation", "groups")
    x, w = _shape(a["input"]), _shape(a["weight"])
    kernel, dims = w[2:], x[2:]
    n = len(dims)
    stride, dilation, groups = a.get("stride", 1), a.get("dilation", 1), a.get("groups", 1)
    strides = stride if isinstance(stride, tuple) else (stride,) * n
    dilations = dilation if isinstance(dilation, tuple) else (dilation,) * n
    padding = a.get("padding", 0)
    if isinstance(padding, str):
        pads = (
            (0,) * n if padding == "valid" else tuple(d * (k - 1) // 2 for d, k in zip(dilations, kernel, strict=False))
        )
    else:
        pads = padding if isinstance(padding, tuple) else (padding,) * n
    out = [(dims[i] + 2 * pads[i] - (dilations[i] * (kernel[i] - 1) + 1)) // strides[i] + 1 for i in range(n)]
    positions = x[0] * math.prod(out)
    macs = math.prod(kernel) * x[1] * (w[0] // groups) * positions
    bias = w[0] * positions if a.get("bias") is not None else 0
    return 2 * macs + bias, macs


def _calflops_conv_transpose_call(f: FunctionCall) -> tuple[int, int]:
    """``_conv_trans_flops_compute``: out_channels from weight.shape[1] (already Cout/groups) and
    divided by groups again; the bias over the size a forward conv of the input would give."""
    a = f.bind("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")
    x, w = _shape(a["input"]), _shape(a["weight"])
    kernel, dims = w[2:], x[2:]
    n = len(dims)
    stride, padding, dilation, groups = (
        a.get("stride", 1),
        a.get("padding", 0),
        a.get("dilation", 1),
        a.get("groups", 1),
    )
    pads = padding if isinstance(padding, tuple) else (padding,) * n
    strides = stride if isinstance(stride, tuple) else (stride,) * n
    dilations = dilation if isinstance(dilation, tuple) else (dilation,) * n
    out = [(dims[i] + 2 * pads[i] - (dilations[i] * (kernel[i] - 1) + 1)) // strides[i] + 1 for i in range(n)]
    macs = math.prod(kernel) * x[1] * (w[1] // groups) * x[0] * math.prod(dims)
    bias = w[1] * x[0] * math.prod(out) if a.get("bias") is not None else 0
    return 2 * macs + bias, macs


def _calflops_upsample_call(f: FunctionCall) -> tuple[int, int]:
    """``_upsample_flops_compute``: ``prod(size)`` when given (no batch, no channels), else the input's
    elements (the scale multiply is a discarded expression). calflops raises TypeError on a tuple
    scale unless the batch is the tuple's length; this is its count then, as the UpSampling2D rule
    gives it."""
    size = dict(f.keywords).get("size", f.arguments[1] if len(f.arguments) > 1 else None)
    if size is not None:
        return (math.prod(size) if isinstance(size, tuple) else int(size)), 0
    x = f.arguments[0] if f.arguments else dict(f.keywords).get("input")
    return _numel(x), 0


def _calflops_norm_call(weight_at: int, *names: str) -> Any:
    def rule(f: FunctionCall) -> tuple[int, int]:
        a = f.bind(*names)
        return _numel(a.get("input")) * (5 if a.get(names[weight_at]) is not None else 4), 0

    return rule


def _calflops_batch_norm(f: FunctionCall) -> tuple[int, int]:
    a = f.bind("input", "running_mean", "running_var", "weight", "bias", "training")
    affine = a.get("weight") is not None
    if a.get("training"):
        return _numel(a.get("input")) * (5 if affine else 4), 0
    return _numel(a.get("input")) * (2 if affine else 1), 0


def _calflops_einsum(f: FunctionCall) -> tuple[int, int]:
    """``_einsum_flops_compute``: NumPy's optimal contraction path's flop count."""
    import numpy as np

    equation = str(f.arguments[0]).replace(" ", "")
    operands = [o for o in f.arguments[1:] if _is_tensor(o)]
    letters = dict.fromkeys(c for c in equation if c.isalpha())
    equation = equation.translate({ord(c): 97 + i for i, c in enumerate(letters)})
    path = np.einsum_path(equation, *(np.zeros(o.shape) for o in operands), optimize="optimal")[1]
    for line in path.split("\n"):
        if "optimized flop" in line.lower():
            return int(float(line.split(":")[-1])), 0
    raise MissingRuleError(f"calflops' einsum rule found no flop count for {equation!r}")


def _first_numel(f: FunctionCall) -> tuple[int, int]:
    return _numel(f.bind("input").get("input")), 0


def _calflops_matmul(f: FunctionCall) -> tuple[int, int]:
    a = f.bind("input", "other")
    macs = _numel(a.get("input")) * _shape(a.get("other"))[-1]
    return 2 * macs, macs


def _calflops_addmm(f: FunctionCall) -> tuple[int, int]:
    a = f.bind("input", "mat1", "mat2")
    macs = _numel(a.get("mat1")) * _shape(a.get("mat2"))[-1]
    return 2 * macs + _numel(a.get("input")), macs


#: what calflops patches: ``(FLOPs, MACs)`` of one call
_CALFLOPS_FUNCTIONS: dict[str, Any] = {
    "F.linear": lambda f: (
        2 * _numel(f.bind("input", "weight")["input"]) * _shape(f.bind("input", "weight")["weight"])[0],
        _numel(f.bind("input", "weight")["input"]) * _shape(f.bind("input", "weight")["weight"])[0],
    ),
    **dict.fromkeys(("F.conv1d", "F.conv2d", "F.conv3d"), _calflops_conv_call),
    **dict.fromkeys(("F.conv_transpose1d", "F.conv_transpose2d", "F.conv_transpose3d"), _calflops_conv_transpose_call),
    **dict.fromkeys(
        ("F.relu", "F.prelu", "F.elu", "F.leaky_relu", "F.relu6", "F.silu", "F.gelu", "F.softmax"), _first_numel
    ),
    **dict.fromkeys(
        (f"F.{kind}_pool{n}d" for kind in ("avg", "max", "adaptive_avg", "adaptive_max") for n in (1, 2, 3)),
        _first_numel,
    ),
    "F.batch_norm": _calflops_batch_norm,
    "F.layer_norm": _calflops_norm_call(2, "input", "normalized_shape", "weight"),
    "F.group_norm": _calflops_norm_call(2, "input", "num_groups", "weight"),
    "F.instance_norm": _calflops_norm_call(3, "input", "running_mean", "running_var", "weight"),
    **dict.fromkeys(("F.upsample", "F.interpolate"), _calflops_upsample_call),
    "F.embedding": lambda f: (0, 0),
    **dict.fromkeys(("torch.matmul", "Tensor.matmul"), _calflops_matmul),
    **dict.fromkeys(("torch.addmm", "Tensor.addmm", "torch.baddbmm"), _calflops_addmm),
    **dict.fromkeys(
        _ELEMENTWISE,
        lambda f: (_broadcast(f.bind("input", "other").get("input"), f.bind("input", "other").get("other")), 0),
    ),
    "torch.einsum": _calflops_einsum,
}


def _calflops_read(layer: Layer, site: Site, batch: int) -> Cost | None:
    """calflops on a user model: every call of the functions and tensor methods it patches, as it
    was made (module types do not matter; operators and functions bound before the run cost 0);
    MACs only from linear, conv and matrix products. Parameters: every trained tensor once."""
    d = torch_details(site)
    if d is None:
        return None
    flops = macs = 0
    for f in d.functions:
        rule = _CALFLOPS_FUNCTIONS.get(f.function)
        if rule is not None:
            call_flops, call_macs = rule(f.at(batch))
            flops, macs = flops + call_flops, macs + call_macs
    return Cost(trainable=d.trainable(), macs=macs, flops=flops)


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
            (WeightOp, lambda layer, site: _calflops(0, 0, torch_params(layer, site))),
        ),
        flops_rule="conv bias adds, BN 1-2 per element, ReLU/ELU/GELU/SiLU/softmax and pools 1 per input element",
        macs_include_elementwise=False,
        source_rule=_calflops_read,
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


# ---------------------------------------------------------------------------------------- Family C (issue 12)
# Transposed convolutions, upsampling and resizing, cropping, slicing, permuting, shuffling, padding.
# Each tool's table is extended here; the rules see the modules to_torch builds: nn.ConvTranspose*d
# (a crop after it when torch's padding cannot say Keras 'same'), nn.Upsample(scale_factor=...) for
# UpSampling2D, nn.Upsample(size=...) for Resize, nn.ChannelShuffle, nn.ConstantPad2d /
# ReflectionPad2d / ReplicationPad2d / ZeroPad1d, and small modules that slice, crop and permute.

_TRANSPOSED = (Conv2DTranspose, Conv1DTranspose)
#: kinds that only move values: no tool prices them (fvcore ignores or has no handle for slice,
#: permute, channel_shuffle, pad; no other tool hooks them)
_MOVES = (Cropping2D, Cropping1D, Slice, Permute, ChannelShuffle, Pad2D, ZeroPadding1D)


def _module_output(layer: Layer, site: Site) -> list[int]:
    """The output lengths of the nn.ConvTranspose*d to_torch builds (before any crop after it)."""
    assert isinstance(layer, (Conv2DTranspose, Conv1DTranspose))
    return [torch_transposed_length(size, axis) for size, axis in zip(site.input[1:], layer.axes(), strict=True)]


def _torchinfo_transposed(layer: Layer, site: Site) -> Cost:
    """A class name with "Conv": (weights + bias) x the module's *output* positions, as for a conv."""
    params, bias = torch_params(layer, site), _bias(layer, site)
    times = math.prod(_module_output(layer, site))
    return _lumped(params, (params - bias) * times, bias * times)


def _thop_transposed(layer: Layer, site: Site) -> Cost:
    """``calculate_conv2d_flops`` on the module's output: output elements x (C_in / groups) x kernel."""
    assert isinstance(layer, (Conv2DTranspose, Conv1DTranspose))
    kernel = math.prod(axis.kernel for axis in layer.axes())
    outputs = layer.filters * math.prod(_module_output(layer, site))
    return _lumped(torch_params(layer, site), outputs * (site.input[0] // layer.groups) * kernel)


def _ptflops_transposed(layer: Layer, site: Site) -> Cost:
    """Input positions x the kernel (the paper's count), plus a bias add per element of the module's output."""
    assert isinstance(layer, (Conv2DTranspose, Conv1DTranspose))
    bias_adds = layer.filters * math.prod(_module_output(layer, site)) if layer.bias else 0
    return _lumped(torch_params(layer, site), layer.macs(site), bias_adds)


def _calflops_transposed(layer: Layer, site: Site) -> Cost:
    """``_conv_trans_flops_compute``: out_channels read from ``weight.shape[1]`` (already C_out / groups)
    and divided by groups again; the bias sized by the *forward* conv formula on the input,
    ``(in + 2p - d(k - 1) - 1) // s + 1`` per axis, which can be 0 or negative (FLOPs below 2 x MACs)."""
    assert isinstance(layer, (Conv2DTranspose, Conv1DTranspose))
    axes = layer.axes()
    per_group = layer.filters // layer.groups
    kernel = math.prod(axis.kernel for axis in axes)
    macs = kernel * site.input[0] * (per_group // layer.groups) * elements(site.input[1:])
    bias = 0
    if layer.bias:
        dims = [
            (size + 2 * torch_transposed(axis)[0] - axis.dilated_kernel) // axis.stride + 1
            for size, axis in zip(site.input[1:], axes, strict=True)
        ]
        bias = per_group * math.prod(dims)
    return _calflops(macs, bias, torch_params(layer, site))


def _resize_mode(layer: Layer) -> str:
    assert isinstance(layer, (UpSampling2D, Resize))
    return layer.interpolation


def _fvcore_resize(layer: Layer, site: Site) -> Cost:
    """``aten::upsample_nearest2d`` 1 and ``upsample_bilinear2d`` 4 per output element;
    ``_upsample_nearest_exact2d`` has no handle (0)."""
    per_output = {"nearest": 1, "bilinear": 4, "nearest_exact": 0}[_resize_mode(layer)]
    return _lumped(0, 0, per_output * elements(site.output))


def _thop_resize(layer: Layer, site: Site) -> Cost:
    """nn.Upsample: ``calculate_upsample`` 1 (nearest) or 11 (bilinear) per output element; a mode it
    does not list (nearest-exact) 0, with a warning."""
    per_output = {"nearest": 1, "bilinear": 11, "nearest_exact": 0}[_resize_mode(layer)]
    return _lumped(0, 0, per_output * elements(site.output))


def _ptflops_resize(layer: Layer, site: Site) -> Cost:
    """nn.Upsample's module hook (its output elements) and the patched ``F.interpolate`` (the same
    number again): 2 per output element, in every mode."""
    return _lumped(0, 0, 2 * elements(site.output))


def _calflops_upsampling(layer: Layer, site: Site) -> Cost:
    """``_upsample_flops_compute`` with a scale factor: the input elements (the product with the scale
    is computed and thrown away). A non-square factor is a tuple, which calflops raises TypeError on
    unless the batch is 2 (it compares the tuple's length with ``len(input)``): this is its count then."""
    return _calflops(0, elements(site.input))


def _calflops_resize_batch(layer: Layer, site: Site, batch: int) -> Cost:
    """``_upsample_flops_compute`` with a size: ``prod(size)``, once per call: no batch, no channels."""
    assert isinstance(layer, Resize)
    return _calflops(0, math.prod(layer.output))


def _calflops_resize(layer: Layer, site: Site) -> Cost:
    """One sample: the batch rule at batch 1."""
    return _calflops_resize_batch(layer, site, 1)


TORCHINFO = register(
    TORCHINFO.with_rules(_table((_TRANSPOSED, _torchinfo_transposed), ((UpSampling2D, Resize, *_MOVES), _free)))
)
FVCORE = register(
    FVCORE.with_rules(_table((_TRANSPOSED, _multiply_adds), ((UpSampling2D, Resize), _fvcore_resize), (_MOVES, _free)))
)
THOP = register(
    THOP.with_rules(_table((_TRANSPOSED, _thop_transposed), ((UpSampling2D, Resize), _thop_resize), (_MOVES, _free)))
)
PTFLOPS = register(
    PTFLOPS.with_rules(
        _table((_TRANSPOSED, _ptflops_transposed), ((UpSampling2D, Resize), _ptflops_resize), (_MOVES, _free))
    )
)
CALFLOPS = register(
    CALFLOPS.with_rules(
        _table(
            (_TRANSPOSED, _calflops_transposed),
            (UpSampling2D, _calflops_upsampling),
            (Resize, _calflops_resize),
            (_MOVES, _free),
        ),
        batch_rules={Resize: _calflops_resize_batch},
    )
)

#: the tool conventions, in the order ``crosscheck --against all`` runs the tools
TOOL_CONVENTIONS = (TORCHINFO, FVCORE, THOP, PTFLOPS, CALFLOPS)
