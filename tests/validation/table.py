"""Print the validation table: ``python -m tests.validation.table``.

One row per case of tests/validation/cases.py (the list the tests use): exact value,
Monte Carlo estimate, standard error and z = (estimate - exact) / SE; then the day-by-day
profiles (worst day); then the deliberately wrong formulas, which the same 4-SE check
must reject. Exits with 1 when a case disagrees or a wrong formula is not rejected.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from tests.validation.cases import (
    CASES,
    DAILY_CASES,
    DAILY_TOLERANCE_SE,
    STRESS_PASSAGE_CASES,
    TOLERANCE_SE,
    TTS_CASES,
    WRONG_CASES,
    evaluate,
    evaluate_daily,
    evaluate_stress_passage,
    evaluate_tts,
    scenario_doc,
    z_score,
)


def main() -> int:
    start = time.perf_counter()
    rows = [evaluate(case) for case in CASES]
    width = max(len(row.case.name) for row in rows)
    header = f"{'case':<{width}}  {'exact':>10}  {'estimate':>10}  {'std err':>9}  {'z':>6}  ok   formula"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.case.name:<{width}}  {row.exact:>10.6f}  {row.estimate:>10.6f}  {row.se:>9.2e}  "
            f"{row.z:>+6.2f}  {'yes' if row.ok else 'NO ':<3}  {row.case.formula}"
        )
    failed = [row for row in rows if not row.ok]
    print()
    print(f"{len(rows) - len(failed)}/{len(rows)} cases within {TOLERANCE_SE:g} standard errors")

    print()
    print("Time-to-survive through resilience stress (random mode, Poisson demand):")
    stress_rows = [evaluate_stress_passage(case) for case in STRESS_PASSAGE_CASES]
    print(header)
    print("-" * len(header))
    for row in stress_rows:
        print(
            f"{row.case.name:<{width}}  {row.exact:>10.6f}  {row.estimate:>10.6f}  {row.se:>9.2e}  "
            f"{row.z:>+6.2f}  {'yes' if row.ok else 'NO ':<3}  {row.case.formula}"
        )
    failed += [row for row in stress_rows if not row.ok]
    print(f"{sum(r.ok for r in stress_rows)}/{len(stress_rows)} cases within {TOLERANCE_SE:g} SE")

    print()
    print("Deterministic time-to-survive and losses (every path the same: exact, SE 0):")
    tts_rows = [evaluate_tts(i) for i in range(len(TTS_CASES))]
    tts_width = max(len(c.name) for c in TTS_CASES)
    print(
        f"{'case':<{tts_width}}  {'exact':>10}  {'estimate':>10}  {'std err':>9}  {'z':>6}  ok   formula"
    )
    tts_failed = 0
    for case, row in zip(TTS_CASES, tts_rows, strict=True):
        ok = row.estimate == row.exact
        tts_failed += not ok
        print(
            f"{case.name:<{tts_width}}  {row.exact:>10g}  {row.estimate:>10g}  {row.se:>9.2e}  "
            f"{0.0 if ok else float('inf'):>+6.2f}  {'yes' if ok else 'NO ':<3}  {case.formula}"
        )
    print(f"{len(tts_rows) - tts_failed}/{len(tts_rows)} exact")

    print()
    print(f"Day by day (daily_fill_rate_mean, every day within {DAILY_TOLERANCE_SE:g} SE):")
    daily_width = max(len(c.name) for c in DAILY_CASES)
    print(f"{'case':<{daily_width}}  days  {'max |z|':>7}  {'on day':>6}  {'rms z':>5}  ok")
    daily_failed = 0
    for case in DAILY_CASES:
        daily = evaluate_daily(case)
        z = daily.z
        daily_failed += not daily.ok
        print(
            f"{case.name:<{daily_width}}  {z.size:>4}  {abs(z).max():>7.2f}  {daily.worst_day:>6}  "
            f"{float(np.sqrt(np.mean(z**2))):>5.2f}  {'yes' if daily.ok else 'NO'}"
        )

    print()
    print("Deliberately wrong formulas (must be rejected):")
    wrong_width = max(len(w.name) for w in WRONG_CASES)
    print(
        f"{'case [wrong formula]':<{wrong_width}}  {'wrong':>10}  {'estimate':>10}  {'std err':>9}  {'z':>9}"
    )
    not_rejected = 0
    for wrong in WRONG_CASES:
        row = evaluate(wrong.case)
        value = wrong.wrong(scenario_doc(wrong.case.scenario), wrong.case.strategy)
        z = z_score(row.estimate, row.se, value)
        rejected = abs(z) >= TOLERANCE_SE
        not_rejected += not rejected
        print(
            f"{wrong.name:<{wrong_width}}  {value:>10.6f}  {row.estimate:>10.6f}  {row.se:>9.2e}  "
            f"{z:>+9.2f}  {'rejected' if rejected else 'NOT REJECTED'}"
        )
    print(f"\n({time.perf_counter() - start:.1f} s)")
    return 1 if failed or tts_failed or daily_failed or not_rejected else 0


if __name__ == "__main__":
    sys.exit(main())
