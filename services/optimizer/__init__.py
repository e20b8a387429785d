"""Optimizer service: recommendations that save money, and plans that apply them safely (docs/optimizer.md)."""
