"""The light-runtime artifact of a deep network: what `ltv.export.litert` writes and
`ltv.runtime` reads. This module imports neither TensorFlow nor LiteRT.

A light folder (`<version>/light/` for a deep version, `<version>/light/<member>/` for each
deep member of an ensemble) is a checksummed model folder (`ltv.models.persistence`):
- `network.tflite`: the Keras network converted to LiteRT with TFLite builtin ops only. Its
  attr_* inputs are int64 ids instead of strings (LiteRT has no string lookup), and the GRU
  is unrolled over the weeks (a GRU loop needs TF ops that LiteRT lacks);
- `model.json`: input names, dtypes and shapes in the signature's order, the vocabulary of
  each attr_* input, the deep model's hyperparameters and learned post-processing constants
  (input spec, label scale, cap, balance factor), library versions and the file checksums.

Ids follow Keras' StringLookup(num_oov_indices=1, mask_token=None) exactly: the i-th
vocabulary entry (0-based) is id i + 1, any other string (unseen, or "" for missing) is 0.
"""

from __future__ import annotations

import numpy as np

LIGHT_DIR = "light"  # under a registry version folder
FAMILY = "deep-litert"
CLASS = "LiteRTNetwork"
RUNTIME = "litert"
NETWORK_FILE = "network.tflite"
SIGNATURE = "serving_default"
FORMAT = 1


def string_ids(values: np.ndarray, vocabulary: list[str]) -> np.ndarray:
    """int64 ids of `values` (any shape, str objects) under StringLookup's OOV rule."""
    table = {level: i + 1 for i, level in enumerate(vocabulary)}
    flat = np.asarray(values, dtype=object).ravel()
    ids = np.fromiter((table.get(v, 0) for v in flat), dtype=np.int64, count=flat.size)
    return ids.reshape(np.shape(values))
