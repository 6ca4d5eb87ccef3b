"""Monitoring: drift of features and scores against a model's training reference, and the
retrain gate.

Nothing below `cli`/`serving` imports this package; it builds on `models`, `features` and
`evaluation`.
"""
