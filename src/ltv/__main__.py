"""`python -m ltv ...`: the same commands as the `ltv` script."""

from ltv.cli import main

main()
