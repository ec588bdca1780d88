"""The pure domain: values, the order aggregate and its state machine, pre-trade risk.

Nothing in this package performs I/O, reads a clock or imports from outside ``oms.domain``.
"""
