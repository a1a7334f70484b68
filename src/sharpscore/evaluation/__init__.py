"""Agreement statistics that rheumatology papers report, and the RA2-DREAM challenge metrics.

>>> from sharpscore import evaluation
>>> round(evaluation.quadratic_kappa([0, 1, 2, 3], [0, 1, 2, 2]), 3)
0.875
"""

from .joints import (brier_score, calibration_bins, calibration_error, confusion, exact_agreement, mean_set_size,
                     quadratic_kappa, set_coverage, within_one)
from .landmarks import landmark_errors, summarise_landmark_errors
from .ra2 import WINNERS, patient_weight, ra2_scores
from .report import evaluate_files, evaluate_rows
from .totals import (bland_altman, icc, interval_coverage, interval_width, mae, pearson, rmse, sdc, spearman,
                     total_agreement)

__all__ = ["brier_score", "calibration_bins", "calibration_error", "confusion", "exact_agreement", "mean_set_size",
           "quadratic_kappa", "set_coverage", "within_one", "landmark_errors", "summarise_landmark_errors", "WINNERS",
           "patient_weight", "ra2_scores", "evaluate_files", "evaluate_rows", "bland_altman", "icc",
           "interval_coverage", "interval_width", "mae", "pearson", "rmse", "sdc", "spearman", "total_agreement"]
