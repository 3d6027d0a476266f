"""The linear baseline's fitted models as plain arrays: what ``linear.npz`` in its run folder holds, so that a
trained run pre-labels videos without fitting again and without pickle.

Each model is a standardisation followed by a linear map: ``z = (x - mean) / scale``, then ``z @ coef.T +
intercept``, read as a probability by the logistic function (one AU; two expression classes) or the softmax
(several classes), or as a value (ridge regression of valence or arousal). A task without a model of its own
(one class only, too few frames) is a constant: the train rate, class or mean.
"""

from __future__ import annotations

import io as _bytes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affcurate import io
from affcurate.errors import AffcurateError


@dataclass
class Affine:
    """One standardised linear map over ``F`` features to ``K`` outputs."""

    mean: np.ndarray       # (F,)
    scale: np.ndarray      # (F,)
    coef: np.ndarray       # (K, F)
    intercept: np.ndarray  # (K,)

    @classmethod
    def of(cls, pipeline: Any) -> Affine:
        """From a scikit-learn pipeline of a StandardScaler and a linear model."""
        scaler, model = pipeline[0], pipeline[-1]
        coef = np.atleast_2d(np.asarray(model.coef_, np.float64))
        return cls(np.asarray(scaler.mean_, np.float64), np.asarray(scaler.scale_, np.float64), coef,
                   np.atleast_1d(np.asarray(model.intercept_, np.float64)))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.coef.T + self.intercept


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warning for large |z|


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@dataclass
class LinearState:
    """Per AU a model or its constant rate, the expression model or class, per VA dimension a model or mean."""

    au: list[Affine | float]
    expr: Affine | None
    expr_classes: np.ndarray  # the classes the expression model knows, in the order of its outputs
    expr_const: int
    va: list[Affine | float]

    def au_prob(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        cols = [sigmoid(m(x)[:, 0]) if isinstance(m, Affine) else np.full(n, m) for m in self.au]
        return np.stack(cols, 1) if cols else np.zeros((n, 0))

    def expr_prob(self, x: np.ndarray, n_expr: int) -> np.ndarray:
        """(N, n_expr): the model's class probabilities (0 for a class it never saw), or one-hot of the constant."""
        out = np.zeros((len(x), n_expr))
        if self.expr is None:
            out[:, self.expr_const] = 1.0
            return out
        z = self.expr(x)
        p = softmax(z) if z.shape[1] > 1 else np.column_stack([1 - sigmoid(z[:, 0]), sigmoid(z[:, 0])])
        out[:, self.expr_classes] = p
        return out

    def va_values(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        return np.stack([np.clip(m(x)[:, 0], -1, 1) if isinstance(m, Affine) else np.full(n, m) for m in self.va], 1)

    # ---- linear.npz ---------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"expr_classes": np.asarray(self.expr_classes, np.int64),
                                         "expr_const": np.asarray(self.expr_const, np.int64),
                                         "n_au": np.asarray(len(self.au)), "n_va": np.asarray(len(self.va))}
        for prefix, models in (("au", self.au), ("va", self.va)):
            for j, m in enumerate(models):
                _put(arrays, f"{prefix}{j}", m)
        if self.expr is not None:
            _put(arrays, "expr", self.expr)
        buf = _bytes.BytesIO()
        np.savez(buf, **arrays)
        io.write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> LinearState:
        try:
            with np.load(path, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
            return cls([_get(a, f"au{j}") for j in range(int(a["n_au"]))],
                       _get(a, "expr") if "expr.coef" in a else None, a["expr_classes"], int(a["expr_const"]),
                       [_get(a, f"va{j}") for j in range(int(a["n_va"]))])
        except FileNotFoundError:
            raise AffcurateError(f"{path} is missing: this linear model was trained by an older version; train the "
                                 "run again with --overwrite to pre-label with it") from None
        except (OSError, ValueError, KeyError):
            raise AffcurateError(f"{path} is damaged: train the run again with --overwrite") from None


def _put(arrays: dict[str, np.ndarray], key: str, m: Affine | float) -> None:
    if isinstance(m, Affine):
        arrays.update({f"{key}.mean": m.mean, f"{key}.scale": m.scale, f"{key}.coef": m.coef,
                       f"{key}.intercept": m.intercept})
    else:
        arrays[f"{key}.const"] = np.asarray(float(m))


def _get(arrays: dict[str, np.ndarray], key: str) -> Affine | float:
    if f"{key}.const" in arrays:
        return float(arrays[f"{key}.const"])
    return Affine(*(arrays[f"{key}.{k}"] for k in ("mean", "scale", "coef", "intercept")))
