"""The stress test's time-to-survive distribution with Poisson demand, exactly.

Network (scenarios/validation/first-passage.yaml without its scripted event): a supplier
feeds a dc over a lane of lead time 0, Poisson(mu = 20) demand, lost sales, no random
process, base-stock level S = ceil(mu (1 + k)) (S = 60 for k = 2, 120 for k = 5).
``resilience stress`` scripts a full outage of the supplier from day a = 10 for TTR = 50
days (to the horizon, T = 60) and pairs it with the same paths without it.

Baseline: the supplier refills the dc to S at the end of every day (lead time 0), so a
day is short iff its demand exceeds S: P(d > 60) < 1e-13 for mu = 20, so on every path
of the run the baseline has no unmet demand (f_b = never) and the stressed run's first
unmet day f_s from the start on is "caused" (f_s < f_b) whenever it exists.

Stressed run: the dc starts day a with S on hand (refilled at the end of day a - 1) and
nothing arrives after. Day a + j is the first short day iff the cumulative demand
C_j = d_a + ... + d_(a+j) first exceeds S (every earlier day was served in full, since
C_(j-1) <= S), so TTS = f_s - a = min{j : C_j > S} and

    P(TTS > j) = P(C_j <= S) = F(S; (j + 1) mu),   C_j ~ Poisson((j + 1) mu),
    E[TTS] = sum_(j >= 0) F(S; (j + 1) mu)

(tests/validation/exact.py, first_passage_survival), the same first passage as through a
scripted event, now measured by the stress test's own pairing. P(TTS > 49) < 1e-12, so no
path is censored. Checked within 4 standard errors: the mean TTS (SE s / sqrt(N)) and
P(TTS <= j) (SE sqrt(p (1 - p) / N)), N = 20,000 paths.
"""

from __future__ import annotations

import pytest

from tests.validation.cases import STRESS_PASSAGE_CASES, TOLERANCE_SE, evaluate_stress_passage


@pytest.mark.parametrize("case", STRESS_PASSAGE_CASES, ids=[c.name for c in STRESS_PASSAGE_CASES])
def test_stress_tts_is_the_first_passage(case):
    row = evaluate_stress_passage(case)
    assert row.ok, (
        f"{case.name}: stress estimate {row.estimate:.6f} (SE {row.se:.2e}), exact "
        f"{row.exact:.6f} ({case.formula}), z = {row.z:+.2f} (tolerance {TOLERANCE_SE} SE)"
    )


def test_the_check_can_fail():
    """A first passage one day late (the stock read as S + mu) is rejected."""
    from tests.validation import exact
    from tests.validation.cases import Row

    case = next(c for c in STRESS_PASSAGE_CASES if c.metric == "stress_mean_tts")
    row = evaluate_stress_passage(case)
    wrong = exact.first_passage_mean(20.0, 60.0 + 20.0, 50)
    assert not Row(case, wrong, row.estimate, row.se).ok
