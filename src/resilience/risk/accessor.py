"""The ``ds.risk`` accessor: the functions of :mod:`resilience.risk` bound to a dataset.

Importing this module registers the accessor; ``import resilience`` does so. Private by
convention: use ``ds.risk`` or import :class:`RiskAccessor` from :mod:`resilience.risk`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence

import numpy as np
import xarray as xr

from resilience.risk.base import (
    IntervalMethod,
    QuantileMethod,
    RiskMeasure,
    Side,
    SideChoice,
    TailChoice,
    get_variable,
)
from resilience.risk.estimators import (
    breach_probability,
    cvar,
    exceedance,
    fill_rate,
    mean,
    quantile,
    value_at_risk,
)
from resilience.risk.paired import CompareInterval, compare, paired_differences
from resilience.risk.pareto import frontier
from resilience.risk.tables import DEFAULT_TABLE_COLUMNS, convergence, risk_table

__all__ = ["RiskAccessor"]


@xr.register_dataset_accessor("risk")
class RiskAccessor:
    """``ds.risk``: the functions of :mod:`resilience.risk` bound to a results dataset.

    Variables are passed by name, e.g. ``ds.risk.cvar("total_cost", 0.95)``,
    ``ds.risk.quantile("lost_units", [0.5, 0.95])``, ``ds.risk.compare("jit")``,
    ``ds.risk.table()``. Each method returns what the function of the same name returns
    (``table`` is :func:`~resilience.risk.risk_table`).
    """

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def _get(self, name: str) -> xr.DataArray:
        return get_variable(self._ds, name)

    def quantile(
        self,
        variable: str,
        q: float | Sequence[float],
        *,
        dim: Hashable = "path",
        confidence: float = 0.95,
        method: QuantileMethod = "inverted_cdf",
    ) -> xr.Dataset:
        """Quantiles of a variable with distribution-free (order-statistic) intervals.

        Parameters
        ----------
        variable
            Name of a data variable, e.g. ``"lost_units"``. NaNs are skipped.
        q
            Level(s) in [0, 1]; a scalar drops the ``quantile`` dimension.
        dim
            Dimension to reduce.
        confidence
            Two-sided confidence level of the interval.
        method
            Point-estimate method of :func:`numpy.quantile`.

        Returns
        -------
        xarray.Dataset
            Estimate dataset (``estimate``, ``lower``, ``upper``, ``se``, ``n``) with a
            ``quantile`` dimension; see :func:`resilience.risk.quantile`.
        """
        return quantile(self._get(variable), q, dim=dim, confidence=confidence, method=method)

    def value_at_risk(
        self,
        variable: str,
        level: float | Sequence[float] = 0.95,
        *,
        tail: TailChoice = "auto",
        dim: Hashable = "path",
        confidence: float = 0.95,
        method: QuantileMethod = "inverted_cdf",
    ) -> xr.Dataset:
        """Value at risk: the quantile that bounds the bad ``1 - level`` tail.

        Parameters
        ----------
        variable
            Name of a data variable, e.g. ``"total_cost"`` or ``"fill_rate"``.
        level
            Level(s) a in (0, 1); a scalar drops the ``level`` dimension.
        tail
            Bad tail: ``"upper"``, ``"lower"`` or ``"auto"`` (see
            :func:`resilience.risk.bad_tail`; P95 for losses, P5 for the fill rate).
        dim
            Dimension to reduce.
        confidence
            Two-sided confidence level of the interval.
        method
            Point-estimate method of :func:`numpy.quantile`.

        Returns
        -------
        xarray.Dataset
            Estimate dataset with a ``level`` dimension; see
            :func:`resilience.risk.value_at_risk`.
        """
        return value_at_risk(
            self._get(variable), level, tail=tail, dim=dim, confidence=confidence, method=method
        )

    def var(
        self,
        variable: str,
        level: float | Sequence[float] = 0.95,
        *,
        tail: TailChoice = "auto",
        dim: Hashable = "path",
        confidence: float = 0.95,
        method: QuantileMethod = "inverted_cdf",
    ) -> xr.Dataset:
        """Deprecated alias of :meth:`value_at_risk` (``var`` reads as variance).

        Parameters
        ----------
        variable, level, tail, dim, confidence, method
            As in :meth:`value_at_risk`.

        Returns
        -------
        xarray.Dataset
            The result of :meth:`value_at_risk`.
        """
        warnings.warn(
            "ds.risk.var is deprecated; use ds.risk.value_at_risk",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.value_at_risk(
            variable, level, tail=tail, dim=dim, confidence=confidence, method=method
        )

    def cvar(
        self,
        variable: str,
        level: float | Sequence[float] = 0.95,
        *,
        tail: TailChoice = "auto",
        dim: Hashable = "path",
        confidence: float = 0.95,
        interval: IntervalMethod = "asymptotic",
        n_boot: int = 1000,
        seed: int = 0,
    ) -> xr.Dataset:
        """Conditional value at risk (expected shortfall): mean of the bad tail.

        Parameters
        ----------
        variable
            Name of a data variable. NaNs are skipped.
        level
            Level(s) a in (0, 1); a scalar drops the ``level`` dimension.
        tail
            Bad tail: ``"upper"``, ``"lower"`` or ``"auto"`` (see
            :func:`resilience.risk.bad_tail`).
        dim
            Dimension to reduce.
        confidence
            Two-sided confidence level of the interval.
        interval
            ``"asymptotic"`` (influence function) or ``"bootstrap"`` (percentile).
        n_boot
            Bootstrap replicates (``interval="bootstrap"`` only).
        seed
            Bootstrap seed (``interval="bootstrap"`` only).

        Returns
        -------
        xarray.Dataset
            Estimate dataset with a ``level`` dimension; see :func:`resilience.risk.cvar`.
        """
        return cvar(
            self._get(variable),
            level,
            tail=tail,
            dim=dim,
            confidence=confidence,
            interval=interval,
            n_boot=n_boot,
            seed=seed,
        )

    def mean(
        self, variable: str, *, dim: Hashable = "path", confidence: float = 0.95
    ) -> xr.Dataset:
        """Sample mean of a variable with a normal (CLT) interval.

        Parameters
        ----------
        variable
            Name of a data variable.
        dim
            Dimension to reduce.
        confidence
            Two-sided confidence level of the interval.

        Returns
        -------
        xarray.Dataset
            Estimate dataset; see :func:`resilience.risk.mean`.
        """
        return mean(self._get(variable), dim=dim, confidence=confidence)

    def fill_rate(self, *, dim: Hashable = "path", confidence: float = 0.95) -> xr.Dataset:
        """Run-level fill rate sum(filled_units) / sum(demand_units), delta-method interval.

        Parameters
        ----------
        dim
            Dimension to reduce.
        confidence
            Two-sided confidence level of the interval.

        Returns
        -------
        xarray.Dataset
            Estimate dataset (units "1"); see :func:`resilience.risk.fill_rate`.
        """
        return fill_rate(self._ds, dim=dim, confidence=confidence)

    def exceedance(
        self,
        variable: str,
        thresholds: Sequence[float] | np.ndarray | None = None,
        *,
        side: Side = "above",
        dim: Hashable = "path",
        confidence: float = 0.95,
        n_points: int = 200,
    ) -> xr.Dataset:
        """Exceedance curve P(X > x) (or P(X < x)) with Wilson intervals.

        Parameters
        ----------
        variable
            Name of a data variable.
        thresholds
            Where to evaluate; default ``n_points`` quantiles of all values pooled.
        side
            ``"above"`` for P(X > x), ``"below"`` for P(X < x).
        dim
            Dimension to reduce.
        confidence
            Two-sided confidence level of the intervals.
        n_points
            Number of default thresholds (used when ``thresholds`` is None).

        Returns
        -------
        xarray.Dataset
            Estimate dataset with a ``threshold`` dimension; see
            :func:`resilience.risk.exceedance`.
        """
        return exceedance(
            self._get(variable),
            thresholds,
            side=side,
            dim=dim,
            confidence=confidence,
            n_points=n_points,
        )

    def breach_probability(
        self,
        variable: str,
        threshold: float,
        *,
        side: SideChoice = "auto",
        dim: Hashable = "path",
        confidence: float = 0.95,
    ) -> xr.Dataset:
        """Probability of breaching a threshold, with a Wilson interval.

        Parameters
        ----------
        variable
            Name of a data variable, e.g. ``"fill_rate"``.
        threshold
            The threshold t.
        side
            ``"above"`` for P(X > t), ``"below"`` for P(X < t), ``"auto"`` by the bad
            tail of the variable.
        dim
            Dimension to reduce.
        confidence
            Two-sided confidence level of the interval.

        Returns
        -------
        xarray.Dataset
            Estimate dataset with a scalar ``threshold`` coordinate; see
            :func:`resilience.risk.breach_probability`.
        """
        return breach_probability(
            self._get(variable), threshold, side=side, dim=dim, confidence=confidence
        )

    def paired_differences(self, metric: str = "total_cost", baseline: str = "jit") -> xr.DataArray:
        """Per-path differences X_s - X_baseline for every other strategy.

        Parameters
        ----------
        metric
            Per-path variable.
        baseline
            Reference strategy.

        Returns
        -------
        xarray.DataArray
            Dims (strategy, path, ...) without the baseline; see
            :func:`resilience.risk.paired_differences`.
        """
        return paired_differences(self._ds, metric, baseline)

    def compare(
        self,
        baseline: str = "jit",
        metric: str = "total_cost",
        *,
        level: float = 0.95,
        tail: TailChoice = "auto",
        dim: Hashable = "path",
        confidence: float = 0.95,
        n_boot: int | None = None,
        seed: int = 0,
        interval: CompareInterval | None = None,
    ) -> xr.Dataset:
        """Paired comparison of every strategy against ``baseline`` on the same paths.

        Parameters
        ----------
        baseline
            Reference strategy.
        metric
            Per-path variable to compare.
        level
            VaR / CVaR level a.
        tail
            Bad tail of the metric (``"auto"``: :func:`resilience.risk.bad_tail`).
        dim
            Path dimension.
        confidence
            Two-sided confidence level.
        n_boot
            Bootstrap replicates for the VaR / CVaR differences (0 skips them); giving it
            selects the bootstrap.
        seed
            Bootstrap seed.
        interval
            ``"influence"`` (the default without ``n_boot``) or ``"bootstrap"``.

        Returns
        -------
        xarray.Dataset
            Dims (strategy, statistic) without the baseline; see
            :func:`resilience.risk.compare`.
        """
        return compare(
            self._ds,
            baseline,
            metric,
            level=level,
            tail=tail,
            dim=dim,
            confidence=confidence,
            n_boot=n_boot,
            seed=seed,
            interval=interval,
        )

    def frontier(
        self,
        *,
        cost: str = "total_cost",
        risk: str = "lost_units",
        measure: RiskMeasure = "cvar",
        level: float = 0.95,
        tail: TailChoice = "auto",
        dim: Hashable = "path",
        confidence: float = 0.95,
    ) -> xr.Dataset:
        """Cost-risk frontier across strategies (expected cost against a risk figure).

        Parameters
        ----------
        cost
            Cost variable (its mean is the x axis).
        risk
            Risk variable.
        measure
            Risk figure of ``risk``: ``"mean"``, ``"var"`` (VaR) or ``"cvar"``.
        level
            VaR / CVaR level a.
        tail
            Bad tail of ``risk`` (``"auto"``: :func:`resilience.risk.bad_tail`).
        dim
            Path dimension.
        confidence
            Two-sided confidence level.

        Returns
        -------
        xarray.Dataset
            Over ``strategy``: ``expected_cost``, ``risk_value`` (with bounds),
            ``dominated``, ``dominated_by``; see :func:`resilience.risk.frontier`.
        """
        return frontier(
            self._ds,
            cost=cost,
            risk=risk,
            measure=measure,
            level=level,
            tail=tail,
            dim=dim,
            confidence=confidence,
        )

    def table(
        self,
        *,
        columns: Sequence[tuple[str, str]] = DEFAULT_TABLE_COLUMNS,
        dim: Hashable = "path",
        confidence: float = 0.95,
    ) -> xr.Dataset:
        """The per-strategy risk table printed by ``resilience run``.

        Parameters
        ----------
        columns
            (variable, statistic) pairs; statistic is ``mean``, ``P<q>``, ``VaR<a>`` or
            ``CVaR<a>``.
        dim
            Path dimension.
        confidence
            Two-sided confidence level.

        Returns
        -------
        xarray.Dataset
            Dims (strategy, column); see :func:`resilience.risk.risk_table`.
        """
        return risk_table(self._ds, columns=columns, dim=dim, confidence=confidence)

    def convergence(
        self,
        rel_precision: float = 0.01,
        confidence: float = 0.95,
        *,
        columns: Sequence[tuple[str, str]] = DEFAULT_TABLE_COLUMNS,
        dim: Hashable = "path",
    ) -> xr.Dataset:
        """Convergence report of every figure of the risk table.

        Parameters
        ----------
        rel_precision
            Target relative half-width, e.g. 0.01 for +-1 %.
        confidence
            Two-sided confidence level.
        columns
            Columns of the risk table, as in :meth:`table`.
        dim
            Path dimension.

        Returns
        -------
        xarray.Dataset
            ``estimate``, ``se``, ``n``, ``rel_halfwidth`` and ``paths_needed`` over
            (strategy, column); see :func:`resilience.risk.convergence`.
        """
        table = risk_table(self._ds, columns=columns, dim=dim, confidence=confidence)
        return convergence(table, rel_precision, confidence)
