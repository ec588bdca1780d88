"""The venue simulator: a FIX exchange with a real limit order book (`oms venue-sim`)."""
