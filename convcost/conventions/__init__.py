"""Named counting conventions: which work and which parameters a total includes.

Tools disagree about what a layer "costs"; convcost names the rule it applies. A ``Convention`` is a
table of rules, one per layer kind: ``rule(layer, site) -> Cost`` for one sample. The two reference
conventions are read off each kind's declaration, so every kind has them:

* ``paper``: the kind's multiply-adds, and its weights when the paper counts them (convolutions
  and fully-connected layers);
* ``keras``: multiply-adds as ``paper``, parameters as ``model.count_params()`` (every weight the
  layer holds, split as Keras splits it: a frozen layer's weights are non-trainable).

The five PyTorch tools are tables of rules pinned by running the real tool (``tools``). Some tools
count by module, not by operation, so a tool convention also has a ``source_rule``: for a node a
reader made from a framework module (``site.source``), it prices the node the way the tool prices
that module, kind or no kind. A kind a convention has no rule for is an ``InternalError`` naming
both, never a zero. To change one rule,
``get_convention("thop").with_rules({MyKind: my_rule})`` makes a new convention that ``analyze``
takes in place of a name; ``register`` makes it known by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field, replace
from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING

from convcost.cost import Cost
from convcost.errors import MissingRuleError, UnknownConventionError
from convcost.layer import Layer, Site
from convcost.record import record

Rule = Callable[[Layer, Site], Cost]
#: ``rule(layer, site, batch) -> Cost`` for the whole batch (parameters once)
BatchRule = Callable[[Layer, Site, int], Cost]
#: ``rule(layer, site, batch)`` prices a node from the framework object it was read from
#: (``site.source``), for the whole batch (parameters once); None: not a source it knows
SourceRule = Callable[[Layer, Site, int], Cost | None]


@record
class Convention:
    name: str
    summary: str
    rules: Mapping[type[Layer], Rule] = field(repr=False)
    #: the rule of every kind the table does not name (the reference conventions: one rule for all)
    default: Rule | None = field(default=None, repr=False)
    #: the tool reports one sample whatever the batch (ptflops): the report does not scale by it
    per_sample: bool = False
    #: the element-wise work that FLOPs add to 2 x multiply-adds under this convention
    flops_rule: str = "nothing element-wise"
    #: the tool's one "MACs" count holds its element-wise operations too (calflops keeps them apart)
    macs_include_elementwise: bool = True
    #: rules that price a whole batch at once, for a kind whose tool count is not the batch times
    #: one sample's (thop truncates one float64 product over the whole batch); ``rules`` still
    #: holds the kind's one-sample rule
    batch_rules: Mapping[type[Layer], BatchRule] = field(default_factory=dict, repr=False)
    #: how the tool prices a node read from a framework module, the whole batch (its parameters
    #: shared or not, as the tool counts them); None: every node by its kind
    source_rule: SourceRule | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))
        object.__setattr__(self, "batch_rules", MappingProxyType(dict(self.batch_rules)))

    def rule(self, kind: type[Layer]) -> Rule:
        rule = self.rules.get(kind, self.default)
        if rule is None:
            raise MissingRuleError(f"convention '{self.name}' has no rule for {kind.__name__}")
        return rule

    def cost(self, layer: Layer, site: Site) -> Cost:
        """What ``layer`` costs at ``site`` under this convention (one sample)."""
        return self.priced(layer, site)[0]

    def batch_cost(self, layer: Layer, site: Site, batch: int) -> Cost:
        """What ``layer`` costs for ``batch`` samples: multiply-adds and FLOPs of the whole batch,
        parameters once (``batch`` times one sample's unless the kind has a batch rule)."""
        return self.priced(layer, site, batch)[0]

    def priced(self, layer: Layer, site: Site, batch: int = 1) -> tuple[Cost, bool]:
        """``batch_cost``, and whether it was read off the node's source: such a cost already counts
        the parameters of a layer called again the way the tool does (``analyze`` leaves it so)."""
        if self.source_rule is not None and site.source is not None:
            found = self.source_rule(layer, site, batch)
            if found is not None:
                return found, True
        batch_rule = self.batch_rules.get(type(layer))
        if batch_rule is not None:
            return batch_rule(layer, site, batch), False
        c = self.rule(type(layer))(layer, site)
        if batch == 1:  # the common case, on the hot path of analyze: no copy
            return c, False
        return Cost(c.trainable, c.non_trainable, c.macs * batch, c.flops * batch), False

    def with_rules(
        self,
        rules: Mapping[type[Layer], Rule],
        name: str | None = None,
        batch_rules: Mapping[type[Layer], BatchRule] | None = None,
    ) -> Convention:
        """This convention with ``rules`` (and ``batch_rules``) added or replacing its own (named
        ``name`` if given). A kind given a new one-sample rule loses its old batch rule."""
        kept = {kind: rule for kind, rule in self.batch_rules.items() if kind not in rules}
        return replace(
            self,
            name=name or self.name,
            rules={**self.rules, **rules},
            batch_rules={**kept, **(batch_rules or {})},
        )


def paper(layer: Layer, site: Site) -> Cost:
    """MobileNet paper: conv and fully-connected multiply-adds and weights (with bias); nothing else."""
    macs = layer.macs(site)
    weights = sum(w.size for w in layer.weights(site)) if layer.counts_in_paper else 0
    return Cost(trainable=weights, macs=macs, flops=2 * macs)


def keras(layer: Layer, site: Site) -> Cost:
    """``model.count_params()``: every weight, trainable unless Keras does not train it or the layer is frozen."""
    macs = layer.macs(site)
    trainable = non_trainable = 0
    for w in layer.weights(site):
        if w.trainable and layer.trainable:
            trainable += w.size
        else:
            non_trainable += w.size
    return Cost(trainable=trainable, non_trainable=non_trainable, macs=macs, flops=2 * macs)


#: the five torch tools' conventions, declared in ``tools``: their rule tables are an eighth of the
#: package's code, so that module is imported when a tool convention (or ``CONVENTIONS``, the
#: registry of them all) is first asked for, not by every command
TOOLS = ("torchinfo", "fvcore", "thop", "ptflops", "calflops")
#: the built-in conventions' names, in the order listed (the CLI's choices)
NAMES = ("paper", "keras", *TOOLS)

_REGISTERED: dict[str, Convention] = {}


def _registry() -> dict[str, Convention]:
    """Every registered convention, the five tools' included (``CONVENTIONS``)."""
    import_module("convcost.conventions.tools")  # registers the five (a from-import would ask __getattr__)
    return _REGISTERED


if TYPE_CHECKING:
    #: every convention by name: ``register`` adds one
    CONVENTIONS: dict[str, Convention]
else:

    def __getattr__(name: str) -> object:
        if name == "CONVENTIONS":
            return _registry()
        if name == "tools":
            return import_module("convcost.conventions.tools")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*globals(), "CONVENTIONS", "tools"])


def register(convention: Convention) -> Convention:
    """Make ``convention`` known by its name (``analyze(model, "name")``); it replaces a convention
    of the same name, a built-in one included."""
    _registry()  # the built-ins first: a convention registered now is listed after them and stays
    return _add(convention)


def _add(convention: Convention) -> Convention:
    """Register a built-in convention (``register`` without loading the tools first)."""
    _REGISTERED[convention.name] = convention
    return convention


def get_convention(name: str | Convention) -> Convention:
    if isinstance(name, Convention):
        return name
    if name not in _REGISTERED and name in TOOLS:
        _registry()  # the tools register themselves
    try:
        return _REGISTERED[name]
    except KeyError:
        import difflib

        known = _registry()
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UnknownConventionError(f"unknown convention {name!r}{hint} (known: {', '.join(known)})") from None


_add(
    Convention(
        "paper",
        "conv and fully-connected multiply-adds and weights (biases included); no BN, activation or pooling",
        {},
        default=paper,
    )
)
_add(
    Convention(
        "keras",
        "params as Keras count_params(): BN adds 2 trainable + 2 non-trainable per channel; multiply-adds as paper",
        {},
        default=keras,
    )
)

__all__ = [
    "CONVENTIONS",
    "NAMES",
    "TOOLS",
    "BatchRule",
    "Convention",
    "Rule",
    "SourceRule",
    "get_convention",
    "keras",
    "paper",
    "register",
]
