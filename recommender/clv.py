"""BG/NBD and Gamma-Gamma customer-lifetime-value models, fitted by maximum likelihood with scipy.

Why our own: the maintained choices did not fit. `lifetimes` (the usual library) has had no release
since 2020 and its successor `btyd` is a 2022 beta; `pymc-marketing` brings PyMC and a compiler
toolchain. The two models are a few closed-form likelihoods (Fader, Hardie & Lee 2005, "Counting
your customers the easy way"; Fader, Hardie & Lee 2005, "RFM and CLV"), written out below and
checked by tests that recover the parameters of simulated customers.

Inputs per customer, in one time unit (weeks): x = repeat purchases, t_x = time of the last
purchase since the first, T = time since the first purchase; m = mean value of repeat purchases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


def _fit_log_params(neg_ll, n_params: int, start: np.ndarray | None = None) -> np.ndarray:
    """Minimise over log-parameters so every parameter stays positive."""
    x0 = np.zeros(n_params) if start is None else np.log(start)
    res = optimize.minimize(neg_ll, x0, method="L-BFGS-B", bounds=[(-10.0, 10.0)] * n_params)
    if not np.all(np.isfinite(res.x)):
        raise RuntimeError(f"likelihood maximisation failed: {res.message}")
    return np.exp(res.x)


def _as_arrays(*values):
    arrays = [np.asarray(v, dtype=float) for v in values]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError("customer arrays must have the same length")
    return arrays


@dataclass
class BetaGeoModel:
    """BG/NBD: while active a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase
    they drop out with probability p ~ Beta(a, b)."""

    r: float = float("nan")
    alpha: float = float("nan")
    a: float = float("nan")
    b: float = float("nan")

    @staticmethod
    def log_likelihood(params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        still_active = special.betaln(a, b + x) - special.betaln(a, b) + common - (r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            dropped = (
                special.betaln(a + 1, np.maximum(b + x - 1, 1e-12))
                - special.betaln(a, b)
                + common
                - (r + x) * np.log(alpha + t_x)
            )
        return np.where(x > 0, np.logaddexp(still_active, np.where(x > 0, dropped, -np.inf)), still_active)

    def fit(self, x, t_x, T) -> BetaGeoModel:
        x, t_x, T = _as_arrays(x, t_x, T)
        if len(x) < 10:
            raise ValueError("BG/NBD needs at least 10 customers")
        if np.any(t_x > T) or np.any(x < 0):
            raise ValueError("need 0 <= recency <= T and frequency >= 0")
        self.r, self.alpha, self.a, self.b = _fit_log_params(
            lambda lp: -self.log_likelihood(np.exp(lp), x, t_x, T).sum() / len(x),
            4,
            np.array([1.0, max(T.mean(), 1.0), 1.0, 1.0]),
        )
        return self

    def _inactive_odds(self, x, t_x, T) -> np.ndarray:
        """δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x): odds that the customer has dropped out."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            odds = (
                self.a
                / (self.b + x - 1)
                * np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
            )
        return np.where(x > 0, odds, 0.0)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        x, t_x, T = _as_arrays(x, t_x, T)
        return 1.0 / (1.0 + self._inactive_odds(x, t_x, T))

    def expected_purchases(self, horizon: float, x, t_x, T) -> np.ndarray:
        """E[purchases in (T, T+horizon] | x, t_x, T] (BG/NBD paper, eq. 10). The closed form is
        finite for any a != 1 (both factors change sign together when a < 1)."""
        x, t_x, T = _as_arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if abs(a - 1) < 1e-9:
            a = 1 + 1e-9
        z = horizon / (alpha + T + horizon)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + horizon)) ** (r + x) * hyp)
        return num / (1.0 + self._inactive_odds(x, t_x, T))


@dataclass
class GammaGammaModel:
    """Gamma-Gamma: each purchase's value ~ Gamma(p, ν), the customer's ν ~ Gamma(q, γ); assumes
    spend is independent of purchase frequency. Fitted on customers with repeat purchases."""

    p: float = float("nan")
    q: float = float("nan")
    v: float = float("nan")

    @staticmethod
    def log_likelihood(params, x, m) -> np.ndarray:
        p, q, v = params
        px = p * x
        return (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(v + x * m)
        )

    def fit(self, x, m) -> GammaGammaModel:
        x, m = _as_arrays(x, m)
        keep = (x > 0) & (m > 0)
        if keep.sum() < 10:
            raise ValueError("Gamma-Gamma needs at least 10 customers with repeat purchases")
        x, m = x[keep], m[keep]
        scale = float(np.median(m))  # fit in units of the median spend: better-conditioned
        p, q, v = _fit_log_params(
            lambda lp: -self.log_likelihood(np.exp(lp), x, m / scale).sum() / len(x),
            3,
            np.array([1.0, 2.0, 1.0]),
        )
        self.p, self.q, self.v = p, q, v * scale
        return self

    @property
    def population_mean(self) -> float:
        if self.q <= 1:
            raise ValueError("Gamma-Gamma fit has q <= 1: the mean spend is undefined")
        return self.p * self.v / (self.q - 1)

    def expected_value(self, x, m) -> np.ndarray:
        """E[value per purchase | x, m̄]: a weighted mean of the population mean and the customer's own."""
        x, m = _as_arrays(x, m)
        weight = self.p * x / (self.p * x + self.q - 1)
        return np.where(x > 0, (1 - weight) * self.population_mean + weight * m, self.population_mean)
