"""Serving-side model loading without TensorFlow: `load_predictor(version_dir)`.

Deep networks run in LiteRT from the light export (`ltv.export.litert`); nothing in this
package imports TensorFlow or Keras (a test checks it), so a server process stays small
(~60 MB of runtime instead of ~500 MB) and starts in well under a second.
"""

from ltv.runtime.predictor import Predictor, load_predictor

__all__ = ["Predictor", "load_predictor"]
