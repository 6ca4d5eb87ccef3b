"""Deep family: Keras 3 on TensorFlow with a zero-inflated lognormal head.

Importing this package does not import TensorFlow; fitting, predicting or loading does.
"""

from ltv.models.deep.model import DeepModel

__all__ = ["DeepModel"]
