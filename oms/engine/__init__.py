"""The single-writer core: one inbox, one thread that owns all order state, group commit."""
