#!/usr/bin/env python3
"""Straightforward numpy references of EASE, Mult-DAE and Mult-VAE, as the peers write them.

Dense batches (X[batch].toarray()), float32 numpy matrix products for the networks, float64
inverse for EASE, vae_cf's metric code (NDCG@k with the ideal DCG over min(k, |T|) items,
Recall@k = hits / min(k, |T|)). They read a split exported by `aerec split` (train.tsv,
validation_fold_in.tsv, validation_target.tsv, test_fold_in.tsv, test_target.tsv, items.tsv) so
that AERec and the reference see exactly the same data.

    python3 bench/reference/reference.py --split DIR --model ease --lam 200
    python3 bench/reference/reference.py --split DIR --model mult-dae --epochs 100 --seed 1
Prints one JSON object with the test metrics (mean and 95 % CI half-width per metric).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp


# ------------------------------------------------------------------------------------------- data
def read_pairs(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="") as f:
        r = csv.reader(f, delimiter="\t")
        next(r)
        return [(row[0], row[1]) for row in r]


def load_split(d: Path):
    with open(d / "items.tsv", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    col = rows[0].index("item")
    items = [row[col] for row in rows[1:]]
    item_index = {s: i for i, s in enumerate(items)}
    n_items = len(items)

    def matrix(pairs, users=None):
        if users is None:
            users = list(dict.fromkeys(u for u, _ in pairs))
        uidx = {u: i for i, u in enumerate(users)}
        rows = [uidx[u] for u, i in pairs]
        cols = [item_index[i] for u, i in pairs]
        X = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), n_items))
        X.data[:] = 1
        return X, users

    train, _ = matrix(read_pairs(d / "train.tsv"))
    out = {"train": train}
    for part in ("validation", "test"):
        fold = read_pairs(d / f"{part}_fold_in.tsv")
        targ = read_pairs(d / f"{part}_target.tsv")
        users = list(dict.fromkeys([u for u, _ in fold] + [u for u, _ in targ]))
        out[part] = (matrix(fold, users)[0], matrix(targ, users)[0])
    return out, n_items


# ------------------------------------------------------------------------------------------- metrics (vae_cf)
def ndcg_at_k(X_pred: np.ndarray, heldout: sp.csr_matrix, k: int) -> np.ndarray:
    n = X_pred.shape[0]
    k = min(k, X_pred.shape[1])
    idx_part = np.argpartition(-X_pred, k - 1, axis=1)[:, :k]
    top = X_pred[np.arange(n)[:, None], idx_part]
    order = np.argsort(-top, axis=1, kind="stable")
    idx_topk = idx_part[np.arange(n)[:, None], order]
    tp = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (heldout[np.arange(n)[:, None], idx_topk].toarray() * tp).sum(axis=1)
    idcg = np.array([tp[:min(c, k)].sum() for c in heldout.getnnz(axis=1)])
    with np.errstate(invalid="ignore", divide="ignore"):
        return dcg / idcg


def recall_at_k(X_pred: np.ndarray, heldout: sp.csr_matrix, k: int) -> np.ndarray:
    n = X_pred.shape[0]
    k = min(k, X_pred.shape[1])
    idx = np.argpartition(-X_pred, k - 1, axis=1)
    pred = np.zeros_like(X_pred, dtype=bool)
    pred[np.arange(n)[:, None], idx[:, :k]] = True
    true = (heldout > 0).toarray()
    hits = np.logical_and(true, pred).sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / np.minimum(k, true.sum(axis=1))


def evaluate(score_fn, fold_in: sp.csr_matrix, target: sp.csr_matrix, batch: int = 500) -> dict:
    vals: dict[str, list] = {"ndcg@100": [], "recall@20": [], "recall@50": []}
    for lo in range(0, fold_in.shape[0], batch):
        X = fold_in[lo:lo + batch]
        S = score_fn(X).astype(np.float64)
        S[X.nonzero()] = -np.inf
        T = target[lo:lo + batch]
        vals["ndcg@100"].append(ndcg_at_k(S, T, 100))
        vals["recall@20"].append(recall_at_k(S, T, 20))
        vals["recall@50"].append(recall_at_k(S, T, 50))
    out = {}
    for name, parts in vals.items():
        v = np.concatenate(parts)
        v = v[~np.isnan(v)]  # users with an empty target
        out[name] = {"mean": float(v.mean()), "ci95": float(1.96 * v.std(ddof=1) / np.sqrt(len(v))), "n": len(v)}
    return out


# ------------------------------------------------------------------------------------------- EASE
def ease(train: sp.csr_matrix, lam: float):
    G = (train.T @ train).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += lam
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))
    B[np.diag_indices_from(B)] = 0
    return lambda X: X @ B


# ------------------------------------------------------------------------------------------- Mult-DAE / Mult-VAE
class Adam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.p, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        lr = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, g, m, v in zip(self.p, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= lr * m / (np.sqrt(v) + self.eps)


ACT = {
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, a: a * (1 - a)),
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(z.dtype)),
    "identity": (lambda z: z, lambda z, a: np.ones_like(z)),
}


def xavier(rng, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, (fan_in, fan_out)).astype(np.float32)


def log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


class Network:
    """Mult-DAE / Mult-VAE as the Python peers write them: dense batches, dense Adam, one rng for
    initialisation, shuffling, dropout and the VAE's noise."""

    def __init__(self, kind: str, n_items: int, seed: int = 1, lr: float = 1e-3, act: str = "tanh",
                 anneal_steps: int = 200000, anneal_cap: float = 0.2, lam: float | None = None, keep: float = 0.5):
        self.kind, self.keep, self.anneal_steps, self.anneal_cap = kind, keep, anneal_steps, anneal_cap
        self.rng = rng = np.random.default_rng(seed)
        self.f, self.df = ACT[act]
        if kind == "mult-dae":
            self.lam = 0.01 if lam is None else lam
            self.W = [xavier(rng, n_items, 200), xavier(rng, 200, n_items)]
            self.b = [rng.normal(0, 0.001, 200).astype(np.float32), rng.normal(0, 0.001, n_items).astype(np.float32)]
        else:
            self.lam = 0.0 if lam is None else lam
            self.W = [xavier(rng, n_items, 600), xavier(rng, 600, 400), xavier(rng, 200, 600),
                      xavier(rng, 600, n_items)]
            self.b = [rng.normal(0, 0.001, d).astype(np.float32) for d in (600, 400, 600, n_items)]
        self.opt = Adam(self.W + self.b, lr=lr)
        self.updates = 0

    def encode_input(self, X, train_mode: bool = True):
        X = X.toarray().astype(np.float32)
        Xn = X / np.maximum(np.sqrt((X * X).sum(axis=1, keepdims=True)), 1e-12)
        if train_mode:
            Xn = Xn * (self.rng.random(Xn.shape) < self.keep) / self.keep
        return X, Xn.astype(np.float32)

    def score(self, Xs):
        W, b, f = self.W, self.b, self.f
        _, Xn = self.encode_input(Xs, False)
        if self.kind == "mult-dae":
            return f(Xn @ W[0] + b[0]) @ W[1] + b[1]
        h = f(Xn @ W[0] + b[0])
        mu = (h @ W[1] + b[1])[:, :200]
        return np.tanh(mu @ W[2] + b[2]) @ W[3] + b[3]

    def step(self, Xs) -> None:
        W, b, f, df, rng = self.W, self.b, self.f, self.df, self.rng
        X, Xn = self.encode_input(Xs)
        B = X.shape[0]
        lam = self.lam
        if self.kind == "mult-dae":
            z1 = Xn @ W[0] + b[0]
            a1 = f(z1)
            logits = a1 @ W[1] + b[1]
            dlog = (np.exp(log_softmax(logits)) * X.sum(axis=1, keepdims=True) - X) / B
            dW1 = a1.T @ dlog + 2 * lam * W[1]
            da1 = dlog @ W[1].T
            dz1 = da1 * df(z1, a1)
            dW0 = Xn.T @ dz1 + 2 * lam * W[0]
            self.opt.step([dW0, dW1, dz1.sum(0), dlog.sum(0)])
        else:
            beta = min(self.anneal_cap, self.updates / self.anneal_steps) if self.anneal_steps > 0 else self.anneal_cap
            z1 = Xn @ W[0] + b[0]
            a1 = f(z1)
            q = a1 @ W[1] + b[1]
            mu, logvar = q[:, :200], q[:, 200:]
            std = np.exp(0.5 * logvar)
            eps = rng.standard_normal(mu.shape).astype(np.float32)
            z = mu + std * eps
            z2 = z @ W[2] + b[2]
            a2 = np.tanh(z2)
            logits = a2 @ W[3] + b[3]
            dlog = (np.exp(log_softmax(logits)) * X.sum(axis=1, keepdims=True) - X) / B
            dW3 = a2.T @ dlog
            dz2 = (dlog @ W[3].T) * (1 - a2 * a2)
            dW2 = z.T @ dz2
            dz = dz2 @ W[2].T
            dmu = dz + beta * mu / B
            dlv = dz * eps * 0.5 * std + beta * 0.5 * (np.exp(logvar) - 1) / B
            dq = np.concatenate([dmu, dlv], axis=1)
            dW1 = a1.T @ dq
            dz1 = (dq @ W[1].T) * df(z1, a1)
            dW0 = Xn.T @ dz1
            grads = [dW0, dW1, dW2, dW3]
            if lam:
                grads = [g + 2 * lam * w for g, w in zip(grads, W)]
            self.opt.step(grads + [dz1.sum(0), dq.sum(0), dz2.sum(0), dlog.sum(0)])
        self.updates += 1


def train_network(kind: str, data, n_items: int, epochs: int, seed: int, lr: float, act: str, batch: int = 500,
                  anneal_steps: int = 200000, anneal_cap: float = 0.2, lam: float | None = None, keep: float = 0.5):
    net = Network(kind, n_items, seed=seed, lr=lr, act=act, anneal_steps=anneal_steps, anneal_cap=anneal_cap,
                  lam=lam, keep=keep)
    train, params, score = data["train"], net.W + net.b, net.score
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        perm = net.rng.permutation(train.shape[0])
        for lo in range(0, len(perm), batch):
            net.step(train[np.sort(perm[lo:lo + batch])])
        vf, vt = data["validation"]
        v = evaluate(score, vf, vt)["ndcg@100"]["mean"]
        history.append(v)
        if v > best:
            best, best_state = v, [p.copy() for p in params]
    for p, s in zip(params, best_state):
        p[...] = s
    return score, best, history


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", required=True, type=Path)
    ap.add_argument("--model", required=True, choices=["ease", "mult-dae", "mult-vae"])
    ap.add_argument("--lam", type=float, default=None, help="EASE lambda / network L2")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--activation", default="tanh", choices=sorted(ACT))
    ap.add_argument("--anneal-steps", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    data, n_items = load_split(args.split)
    t0 = time.perf_counter()
    extra = {}
    if args.model == "ease":
        score = ease(data["train"], 200.0 if args.lam is None else args.lam)
    else:
        score, best, hist = train_network(args.model, data, n_items, args.epochs, args.seed, args.lr,
                                          args.activation, anneal_steps=args.anneal_steps, lam=args.lam)
        extra = {"best_validation_ndcg@100": best, "best_epoch": int(np.argmax(hist)) + 1}
    fit_s = time.perf_counter() - t0
    tf, tt = data["test"]
    res = {"model": args.model, "items": n_items, "train_users": data["train"].shape[0],
           "metrics": evaluate(score, tf, tt), "fit_seconds": fit_s, **extra}
    print(json.dumps(res))


if __name__ == "__main__":
    sys.exit(main())
