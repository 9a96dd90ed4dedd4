"""The command line's arguments (argparse): one parser per command, errors in one line, exit 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ..io import FORMATS
from . import _learning_rate

COMMANDS = ("train", "predict", "evaluate", "inspect", "info")


class UsageError(Exception):
    """A command-line argument that is wrong: printed in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors raised as UsageError (one line, exit 2) instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _batch_size(text: str):
    return None if text.lower() in ("full", "none") else _positive_int(text)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _tol(text: str):
    return None if text.lower() == "none" else float(text)


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=sorted(FORMATS),
        help="the data file's format (default: from its extension)",
    )
    p.add_argument(
        "--target",
        default=None,
        help="tables (CSV, .npy, Parquet): the target column, a name or an index "
        "(negative from the end); default: the last",
    )
    p.add_argument(
        "--zero-based",
        choices=("auto", "yes", "no"),
        default="auto",
        help="svmlight: whether the indices start at 0 (default auto: 1-based unless "
        "an index 0 appears, as scikit-learn)",
    )


def train_parser(prog: str) -> Parser:
    p = Parser(prog=f"{prog} train", description="Train a linear model on a data file and save it.")
    p.add_argument("data", metavar="DATA", help="the training data file")
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="the model file to write")
    p.add_argument(
        "--task",
        choices=("regression", "classification"),
        help="default: from --loss, else classification when y has two values",
    )
    p.add_argument(
        "--loss",
        help="a fastgd loss (default squared_error for regression, log_loss for classification)",
    )
    p.add_argument("--penalty", default="l2", help="l2, l1, elasticnet or none (default l2)")
    p.add_argument("--alpha", type=float, default=1e-4, help="penalty strength (default 1e-4)")
    p.add_argument(
        "--l1-ratio", type=float, default=0.15, help="elasticnet's L1 share (default 0.15)"
    )
    p.add_argument(
        "--batch-size",
        type=_batch_size,
        default=32,
        help="rows per step, or 'full' for full-batch gradient descent (default 32)",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=20,
        help="the most passes over the data (default 20)",
    )
    p.add_argument(
        "--tol",
        type=_tol,
        default=1e-3,
        help="stop when the epoch loss improves by "
        "less than this for 5 epochs; 'none' runs every epoch (default 1e-3)",
    )
    p.add_argument(
        "--learning-rate",
        default="auto",
        metavar="SPEC",
        help=f"one of {', '.join(_learning_rate.NAMES)}, with KEY=VALUE options: "
        "auto, constant:eta0=0.1, cosine:lr=0.1, onecycle:lr=0.5,warmup=100 "
        "(default auto; docs/cli.md)",
    )
    p.add_argument(
        "--optimizer",
        default="sgd",
        help="sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw (default sgd)",
    )
    p.add_argument(
        "--holdout",
        type=_fraction,
        default=0.2,
        help="the share of rows held out to score the model (default 0.2; 0: none)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seeds the holdout split and the shuffles (default 0)"
    )
    p.add_argument("--threads", type=int, default=None, help="threads (default: all)")
    p.add_argument(
        "--quiet", action="store_true", help="no progress report (the estimators' verbose=0)"
    )
    _data_arguments(p)
    return p


def predict_parser(prog: str) -> Parser:
    p = Parser(prog=f"{prog} predict", description="Predict with a saved model: one line per row.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument(
        "data", metavar="DATA", help="rows to predict (a target column, if present, is ignored)"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.add_argument(
        "--proba",
        action="store_true",
        help="class probabilities (a classifier with "
        "loss log_loss or modified_huber), a header line of the classes first",
    )
    _data_arguments(p)
    return p


def evaluate_parser(prog: str) -> Parser:
    p = Parser(prog=f"{prog} evaluate", description="Score a saved model on labelled data.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    _data_arguments(p)
    return p


def inspect_parser(prog: str) -> Parser:
    p = Parser(prog=f"{prog} inspect", description="A saved model's parameters and coefficients.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument(
        "--top",
        type=_positive_int,
        default=20,
        help="how many of the largest coefficients to list (default 20)",
    )
    return p


def info_parser(prog: str) -> Parser:
    return Parser(prog=f"{prog} info", description="How this fastgd was built.")


PARSERS = {
    "train": train_parser,
    "predict": predict_parser,
    "evaluate": evaluate_parser,
    "inspect": inspect_parser,
    "info": info_parser,
}


def zero_based(value: str):
    """--zero-based's value as read_data takes it."""
    return {"auto": "auto", "yes": True, "no": False}[value]


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
