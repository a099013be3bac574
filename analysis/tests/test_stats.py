"""The bootstrap's Poisson(1) weights against the closed-form law."""

from math import exp, factorial

import numpy as np
from scipy import stats as sps

from invsweep.stats import poisson1


def test_poisson1_follows_the_poisson_law():
    draws = poisson1(np.random.default_rng(7), (4_000, 1_000))
    assert draws.dtype == np.float64 and draws.shape == (4_000, 1_000)
    assert np.all(draws == np.round(draws)) and draws.min() == 0
    k = draws.astype(int).ravel()
    counts = np.bincount(k, minlength=12)
    pmf = np.array([exp(-1.0) / factorial(j) for j in range(len(counts))])
    # Values 0..6 on their own, the tail (7 and more: 8e-5 of the mass, 330 expected) pooled.
    observed = np.append(counts[:7], counts[7:].sum())
    expected = k.size * np.append(pmf[:7], 1.0 - pmf[:7].sum())
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    assert sps.chi2.sf(chi2, len(observed) - 1) > 1e-4, (observed, expected.round())
    assert counts[7:].sum() > 200, "the rare tail is drawn"
    assert abs(k.mean() - 1.0) < 5 / np.sqrt(k.size) and abs(k.var() - 1.0) < 0.01


def test_poisson1_tail_reaches_large_values():
    # One draw in 10^6 is 9 or more (P = 1.1e-6): ten million draws show it.
    k = poisson1(np.random.default_rng(1), 10_000_000)
    assert k.max() >= 9
    assert np.all(np.diff(np.unique(k)) == 1), "no value is skipped below the maximum"
