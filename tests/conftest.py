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
