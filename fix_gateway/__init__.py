"""FIX adapters: quickfix applications, FIX <-> domain translation, the venue simulator."""
