#pragma once
// Classifier two-sample test (C2ST) as sbibm computes its published "C2ST" column
// (sbibm/metrics/c2st.py, z-scored variant): a scikit-learn MLPClassifier with sbibm's settings,
// scored by 5-fold cross-validated accuracy. 0.5 means the classifier cannot tell the two sample
// sets apart; 1.0 means it separates them perfectly.
//
// The network, its training (Adam, L2 penalty, stopping rule) and the fold split follow
// scikit-learn's semantics; only the random numbers differ (our streams, not NumPy's), so the
// result is deterministic for a given seed and the same for every thread count, but not
// bit-identical to sbibm's.

#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "core/parallel.h"
#include "core/problems.h"

namespace sbiw {

// Defaults are sbibm's (MLPClassifier defaults plus sbibm's overrides).
struct C2stSettings {
    int folds = 5;                      // KFold(n_splits), shuffled
    std::uint64_t seed = 1;             // fold split, initial weights, minibatch order
    int maxEpochs = 10000;              // max_iter
    double tolerance = 1e-4;            // tol
    int epochsWithoutImprovement = 10;  // n_iter_no_change
    int batchSize = 200;                // min(batchSize, training rows) per minibatch
    double learningRate = 1e-3;         // learning_rate_init (Adam)
    double l2 = 1e-4;                   // alpha
    int hiddenUnitsPerDimension = 10;   // two hidden ReLU layers of this times d units each
    bool zScore = true;                 // standardise both sets by the reference's mean and std
    int threads = 0;                    // folds run in parallel; 0 = all cores

    // Names the offending field, e.g. {"folds", "must be at least 2"}.
    Problems validate() const;
};

struct C2stResult {
    double accuracy = 0;                 // mean of foldAccuracies (NaN if cancelled)
    std::vector<double> foldAccuracies;  // test accuracy of each fold
    std::vector<int> foldEpochs;         // training epochs each fold's classifier used
    double elapsedSeconds = 0;
    bool cancelled = false;  // stopped through LoopControl; accuracies are then incomplete
};

// Compares `samples` (e.g. posterior samples from an algorithm) with `reference` (e.g. the
// reference posterior). Rows are samples; both need the same columns and at least `folds` rows
// (row counts may differ). Throws std::invalid_argument for mismatched or too small inputs and
// for non-finite values (naming the set and row), SettingsError for invalid settings.
// Progress is reported in completed folds.
C2stResult c2st(const Matrix& reference, const Matrix& samples, const C2stSettings& settings = {},
                const LoopControl& control = {});

}  // namespace sbiw
