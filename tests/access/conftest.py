"""Effective-access tests: one iam-simulate process per pytest worker, shared through the `iam` fixture."""

from support.iam_evaluator import iam as iam
