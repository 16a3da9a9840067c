#!/usr/bin/python3
"""compress.py — descriptor compression on NMD18 (Sommer & Dunham Sec. IV.D, Fig. 17 and Table I): the pooled
power spectrum B̄ of every structure compressed (1) by MPS-SVD with bond χ_in, (2) by a linear MPO autoencoder
with latent dimension d_latent per site, and a supervised model trained on the compressed inputs.

    /usr/bin/python3 examples/nmd18/compress.py --train TRAIN.xyz --test TEST.xyz --out DIR [--n 1600]
        [--chi 1,2,4,8,16] [--latent 1,2,3] [--ae-chi 6] [--repeats 3]

The descriptor is tnace-desc's ν = 2 power spectrum averaged over the atoms of a structure (--pool mean, the
seed's eq. 22) on the basis of configs/mps.yaml, unfolded into its full symmetric tensor
B̄[α1, n1, α2, n2, l] — an MPS of 5 sites with physical dimensions (n_el, n_max, n_el, n_max, l_max + 1).

  MPS-SVD   each structure's tensor is decomposed by sequential SVDs (left to right) keeping at most χ_in
            Schmidt values per bond, then contracted back (Fig. 8a): compressed storage Σ_k χ_{k−1} d_k χ_k.
  MPO AE    an encoder MPO maps site k from d_k to d_latent (bond χ_enc between sites), a decoder MPO maps back
            (bond χ_dec = χ_enc); both are trained together to minimise the reconstruction error of the training
            descriptors (Adam on the cores from the per-site principal subspaces; the loss uses the data's second
            moment, so a step costs the same for any number of structures); latent size d_latent^5 (Table I).

Every compressed descriptor is repacked into tnace-desc's layout and fed to the same supervised model,
kernel ridge regression with the SOAP kernel (x·x'/|x||x'|)² (α by 5-fold CV inside the training subset), on
--repeats random training subsets of size --n. Writes DIR/compression.json (a list of {"method", "param",
"size", "recon_rel_rmse", "repeat", "rmse", "mae"}; errors in meV/cation) and DIR/compression.md.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import learning_curve as lc  # noqa: E402  (frames, targets, the KRR baseline's CV grid)


def descriptor(a, path, out):
    """(X [n][D] pooled mean power spectrum, its json) from tnace-desc on the basis of configs/mps.yaml."""
    return lc.descriptors(a, path, out, pool="mean"), json.load(open(out[:-4] + ".json"))


class Layout:
    """The map between tnace-desc's packed ν = 2 columns and the full tensor [α1, n1, α2, n2, l]."""

    def __init__(self, meta):
        cols = np.array(meta["columns"])[:, :5]
        self.ne = len(meta["elements"])
        self.nm = int(max(cols[:, 1].max(), cols[:, 3].max())) + 1
        self.nl = int(cols[:, 4].max()) + 1
        self.dims = (self.ne, self.nm, self.ne, self.nm, self.nl)
        self.cols = cols
        self.w = np.where((cols[:, 0] == cols[:, 2]) & (cols[:, 1] == cols[:, 3]), 1.0, np.sqrt(2.0))

    def unpack(self, X):
        T = np.zeros((len(X),) + self.dims)
        a1, n1, a2, n2, l = self.cols.T
        v = X / self.w
        T[:, a1, n1, a2, n2, l] = v
        T[:, a2, n2, a1, n1, l] = v
        return T

    def pack(self, T):
        a1, n1, a2, n2, l = self.cols.T
        sym = 0.5 * (T[:, a1, n1, a2, n2, l] + T[:, a2, n2, a1, n1, l])
        return sym * self.w


def mps_svd(T, chi):
    """Each tensor of T [n][d1..d5] through sequential truncated SVDs; returns (reconstruction, stored numbers)."""
    n, dims = T.shape[0], T.shape[1:]
    out = np.empty_like(T)
    stored = 0
    for s in range(n):
        cores, rest, left = [], T[s].reshape(1, -1), 1
        for k, d in enumerate(dims[:-1]):
            M = rest.reshape(left * d, -1)
            U, sv, Vt = np.linalg.svd(M, full_matrices=False)
            r = min(chi, len(sv))
            cores.append(U[:, :r].reshape(left, d, r))
            rest = sv[:r, None] * Vt[:r]
            left = r
        cores.append(rest.reshape(left, dims[-1], 1))
        stored = max(stored, sum(c.size for c in cores))
        v = cores[0]
        for c in cores[1:]:
            v = np.tensordot(v, c, axes=(v.ndim - 1, 0))
        out[s] = v.reshape(dims)
    return out, stored


def mpo_dense(cores):
    """Dense operator [o1..o5, i1..i5] of an MPO whose cores are [a_{k-1}, o_k, i_k, a_k] (boundary bonds 1)."""
    v = cores[0]
    for c in cores[1:]:
        v = np.tensordot(v, c, axes=(v.ndim - 1, 0))
    v = v.reshape(v.shape[1:-1])                 # o1 i1 o2 i2 ... o5 i5
    K = len(cores)
    return v.transpose([2 * k for k in range(K)] + [2 * k + 1 for k in range(K)])


def mpo_core_grad(cores, G):
    """∂/∂cores[k] of <G, dense(cores)> for every k (G [o1..o5, i1..i5])."""
    K = len(cores)
    Gi = G.transpose([x for k in range(K) for x in (k, K + k)])   # o1 i1 o2 i2 ...
    grads = []
    for k in range(K):
        left = np.ones((1,))
        for c in cores[:k]:
            left = np.tensordot(left, c, axes=(left.ndim - 1, 0))
        right = np.ones((1,))
        for c in reversed(cores[k + 1:]):
            right = np.tensordot(c, right, axes=(c.ndim - 1, 0))
        # left [1, o1, i1, ..., a_{k-1}], right [a_k, o_{k+1}, i_{k+1}, ..., 1]
        L = left.reshape(-1, cores[k].shape[0])                      # (o i)_<k × a_{k-1}
        R = right.reshape(cores[k].shape[3], -1)                     # a_k × (o i)_>k
        g = Gi.reshape(L.shape[0], cores[k].shape[1] * cores[k].shape[2], R.shape[1])
        grads.append(np.einsum("pa,pmq,bq->amb", L, g, R).reshape(cores[k].shape[0], cores[k].shape[1],
                                                                  cores[k].shape[2], cores[k].shape[3]))
    return grads


def train_autoencoder(T, dims, dlat, chi, steps=1500, seed=0):
    """Linear MPO autoencoder: encoder E (d_k → dlat per site) and decoder D (dlat → d_k), bond chi between sites,
    minimising Σ_s |D E x_s − x_s|² over the training tensors T (Adam on the cores). The data enter through
    X = V_r Λ_r^½ of their second moment C = Σ_s x_s x_sᵀ (r eigenvectors holding all but 1e-12 of its trace:
    the same loss up to that, at a cost independent of the number of structures). Starts from the per-site
    principal subspaces (a product encoder, χ = 1, embedded in the bond) plus small noise."""
    rng = np.random.default_rng(seed)
    K, N, Lt = len(dims), int(np.prod(dims)), dlat ** len(dims)
    Tf = T.reshape(len(T), -1)
    lam, V = np.linalg.eigh(Tf.T @ Tf)
    order = np.argsort(lam)[::-1]
    lam, V = np.clip(lam[order], 0, None), V[:, order]
    r = int(np.searchsorted(np.cumsum(lam) / lam.sum(), 1 - 1e-12)) + 1
    X = V[:, :r] * np.sqrt(lam[:r])
    scale = float(np.sum(X * X))
    bond = [1] + [chi] * (K - 1) + [1]
    enc, dec = [], []
    for k, d in enumerate(dims):
        unf = np.moveaxis(T, k + 1, 1).reshape(len(T), d, -1).transpose(1, 0, 2).reshape(d, -1)
        U = np.linalg.svd(unf, full_matrices=False)[0][:, :dlat]
        if U.shape[1] < dlat:
            U = np.hstack([U, np.zeros((d, dlat - U.shape[1]))])
        e = rng.normal(scale=1e-3, size=(bond[k], dlat, d, bond[k + 1]))
        f = rng.normal(scale=1e-3, size=(bond[k], d, dlat, bond[k + 1]))
        e[0, :, :, 0] += U.T
        f[0, :, :, 0] += U
        enc.append(e)
        dec.append(f)
    params = enc + dec
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2 = 3e-3, 0.9, 0.999
    best = (np.inf, None)
    for t in range(1, steps + 1):
        E = mpo_dense(enc).reshape(Lt, N)
        D = mpo_dense(dec).reshape(N, Lt)
        EX = E @ X
        R = D @ EX - X
        loss = float(np.sum(R * R)) / scale
        if loss < best[0]:
            best = (loss, ([c.copy() for c in enc], [c.copy() for c in dec]))
        gE = (2 * (D.T @ R) @ X.T / scale).reshape((dlat,) * K + tuple(dims))
        gD = (2 * R @ EX.T / scale).reshape(tuple(dims) + (dlat,) * K)
        grads = mpo_core_grad(enc, gE) + mpo_core_grad(dec, gD)
        for j, (p, g) in enumerate(zip(params, grads)):
            m[j] = b1 * m[j] + (1 - b1) * g
            v[j] = b2 * v[j] + (1 - b2) * g * g
            p -= lr * (m[j] / (1 - b1 ** t)) / (np.sqrt(v[j] / (1 - b2 ** t)) + 1e-12)
    enc, dec = best[1]
    return mpo_dense(enc).reshape(Lt, N), mpo_dense(dec).reshape(N, Lt), best[0]


def krr_soap(X, y, idx, Xt):
    """KRR, SOAP kernel ζ = 2, α by 5-fold CV on rows idx (learning_curve's krr-soap)."""
    pred, _ = lc.baseline("krr-soap", idx, y, None, X, {"desc": Xt, "feats": None})
    return pred


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=1600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chi", default="1,2,4,8,16")
    ap.add_argument("--latent", default="1,2,3")
    ap.add_argument("--ae-chi", type=int, default=6)
    ap.add_argument("--ae-steps", type=int, default=1500)
    ap.add_argument("--property", default="formation_energy")
    ap.add_argument("--per", default="Al,Ga,In")
    ap.add_argument("--configs", default=os.path.join(HERE, "configs"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    per = a.per.replace(",", " ").split()
    _, y, _ = lc.parse_frames(a.train, a.property, per)
    _, yt, _ = lc.parse_frames(a.test, a.property, per)
    X, meta = descriptor(a, os.path.abspath(a.train), os.path.join(a.out, "train_mean.npy"))
    Xt, _ = descriptor(a, os.path.abspath(a.test), os.path.join(a.out, "test_mean.npy"))
    lay = Layout(meta)
    T, Tt = lay.unpack(X), lay.unpack(Xt)
    assert np.allclose(lay.pack(T), X, rtol=1e-12, atol=1e-14), "unpack/pack is not the identity"
    full = int(np.prod(lay.dims))
    variants = [("full", 0, X.shape[1], 0.0, X, Xt)]
    for chi in [int(c) for c in a.chi.split(",") if c]:
        R, stored = mps_svd(T, chi)
        Rt, _ = mps_svd(Tt, chi)
        rel = float(np.sqrt(np.sum((Rt - Tt) ** 2) / np.sum(Tt ** 2)))
        variants.append(("mps-svd", chi, stored, rel, lay.pack(R), lay.pack(Rt)))
        print("mps-svd chi_in %2d: stores %4d of %d numbers, test reconstruction rel. RMSE %.2e" % (chi, stored, full, rel),
              flush=True)
    Tf, Ttf = T.reshape(len(T), -1), Tt.reshape(len(Tt), -1)
    for dl in [int(c) for c in a.latent.split(",") if c]:
        E, D, loss = train_autoencoder(T, lay.dims, dl, a.ae_chi, a.ae_steps)
        R, Rt = (Tf @ E.T) @ D.T, (Ttf @ E.T) @ D.T
        rel = float(np.sqrt(np.sum((Rt - Ttf) ** 2) / np.sum(Ttf ** 2)))
        variants.append(("mpo-ae", dl, dl ** len(lay.dims), rel, lay.pack(R.reshape(T.shape)),
                         lay.pack(Rt.reshape(Tt.shape))))
        print("mpo-ae d_latent %d (chi %d): latent %d of %d, training loss %.2e, test reconstruction rel. RMSE %.2e"
              % (dl, a.ae_chi, dl ** len(lay.dims), full, loss, rel), flush=True)
    res = []
    for rep in range(a.repeats):
        idx = np.random.default_rng(rep).permutation(len(y))[:a.n]
        for name, par, size, rel, Xc, Xtc in variants:
            e = krr_soap(Xc, y, idx, Xtc) - yt
            res.append({"method": name, "param": par, "size": int(size), "recon_rel_rmse": rel, "repeat": rep,
                        "rmse": float(np.sqrt(np.mean(e ** 2))), "mae": float(np.mean(np.abs(e)))})
            print("%-8s %3d repeat %d: KRR-SOAP test RMSE %.2f MAE %.2f meV/cation" % (name, par, rep, res[-1]["rmse"],
                                                                                     res[-1]["mae"]), flush=True)
            json.dump(res, open(os.path.join(a.out, "compression.json"), "w"), indent=1)
    lines = ["# Descriptor compression on NMD18: KRR (SOAP kernel, ζ = 2) on compressed B̄, n = %d, %d repeats" % (a.n, a.repeats),
             "", "Full tensor: %d numbers per structure (dims %s); packed unique entries %d." % (full, lay.dims, X.shape[1]),
             "", "| compression | parameter | numbers kept | test reconstruction rel. RMSE | test RMSE (meV/cation) | test MAE |",
             "|---|---|---|---|---|---|"]
    for name, par, size, rel, _, _ in variants:
        r = np.array([[x["rmse"], x["mae"]] for x in res if x["method"] == name and x["param"] == par])
        se = r.std(axis=0, ddof=1) / np.sqrt(len(r)) if len(r) > 1 else np.zeros(2)
        lines.append("| %s | %s | %d | %.1e | %.1f ± %.1f | %.1f ± %.1f |" % (
            name, {"full": "–", "mps-svd": "χ_in = %d" % par, "mpo-ae": "d_latent = %d" % par}[name], size, rel,
            r[:, 0].mean(), se[0], r[:, 1].mean(), se[1]))
    open(os.path.join(a.out, "compression.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
