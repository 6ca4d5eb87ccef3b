"""Model families: one subpackage or module per family, one shared protocol."""
