"""``shenjing.optim``: optimizers and learning-rate schedulers (an index only)."""
