"""Test configuration shared by every test module.

Keras 3 runs on the torch backend here (no TensorFlow); the backend must be chosen before the
first ``import keras``, so it is set in the test configuration, never in convcost itself.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from hypothesis import HealthCheck, settings

# "ci" is the default: fast enough for every push. "thorough" is for a deliberate long run:
#   pytest --hypothesis-profile=thorough   (or CONVCOST_HYPOTHESIS_PROFILE=thorough)
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CONVCOST_HYPOTHESIS_PROFILE", "ci"))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def onnx_exports(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """ONNX files exported by torch and Keras, each made once per session (tests/onnx_exports.py)."""
    from tests.onnx_exports import Exports

    return Exports(tmp_path_factory.mktemp("onnx"))
