"""Frechet distance against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.evaluation.frechet import frechet_distance, frechet_distance_from_features, gaussian_stats


def closed_form(mu1, a, mu2, b):
    """Commuting covariances with eigenvalues ``a`` and ``b``: |dmu|^2 + sum (sqrt a - sqrt b)^2."""
    return float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))


def test_diagonal_covariances():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    a, b = rng.uniform(0.1, 4, 6), rng.uniform(0.1, 4, 6)
    got = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(closed_form(mu1, a, mu2, b), rel=1e-10)


def test_rotated_commuting_covariances():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a, b = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    mu = rng.normal(size=5)
    got = frechet_distance(mu, q @ np.diag(a) @ q.T, mu + 1.0, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(closed_form(mu, a, mu + 1.0, b), rel=1e-8)


def test_one_dimensional_gaussians():
    # N(0, 4) vs N(3, 1): 9 + (2 - 1)^2
    got = frechet_distance(np.array([0.0]), np.array([[4.0]]), np.array([3.0]), np.array([[1.0]]))
    assert got == pytest.approx(10.0)


def test_from_features_shift_only_and_identity():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 8))
    shift = rng.normal(size=8)
    assert frechet_distance_from_features(a, a + shift) == pytest.approx(float(shift @ shift), abs=1e-6)
    assert abs(frechet_distance_from_features(a, a)) < 1e-6


def test_unbiased_covariance():
    mu, sigma = gaussian_stats(np.array([[0.0, 0.0], [2.0, 4.0]]))
    np.testing.assert_allclose(mu, [1.0, 2.0])
    np.testing.assert_allclose(sigma, [[2.0, 4.0], [4.0, 8.0]])  # divisor N - 1


def test_near_singular_covariances_stay_finite():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(3, 40)), rng.normal(size=(3, 40)) + 0.5  # rank 2 in 40 dimensions
    d = frechet_distance_from_features(a, b)
    assert np.isfinite(d) and d > 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_stats(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
