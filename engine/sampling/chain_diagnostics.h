#pragma once
// Convergence diagnostics for several Markov chains that sample one target: split R-hat and
// bulk effective sample size as defined by Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
// "Rank-normalization, folding, and localization: an improved R-hat for assessing convergence
// of MCMC", Bayesian Analysis 16(2) — the definitions Stan and ArviZ report.
//
// R-hat compares the spread between (halves of) chains with the spread within them: near 1 when
// all chains explore the same distribution, clearly above 1 (the usual alarm is 1.01 for final
// results, 1.1 for a rough check) when some chains sit in regions the others never visit.

#include <vector>

#include "core/matrix.h"

namespace sbiw {

enum class RhatKind {
    // Split R-hat on the draws themselves (Gelman et al., BDA3 section 11.4).
    Plain,
    // The larger of split R-hat on rank-normalised draws ("bulk") and on rank-normalised
    // distances from the median ("tail"): robust to heavy tails, and it notices chains that
    // agree in location but not in scale.
    RankNormalised,
};

// chains[c] holds chain c's draws in order (one row per draw, one column per parameter). All
// chains need the same shape; each is split into halves. Returns one value per parameter, NaN
// where it is undefined (fewer than 4 draws per chain, or no variation within the halves).
// Throws std::invalid_argument for no chains or chains of different shapes.
Vector splitRhat(const std::vector<Matrix>& chains, RhatKind kind = RhatKind::RankNormalised);

// Bulk effective sample size per parameter: the number of independent draws that would estimate
// the posterior median about as precisely, from the autocorrelations of the rank-normalised
// split chains combined over chains and truncated by Geyer's initial monotone sequence. Capped
// at draws * log10(draws) as Stan does. Same input rules as splitRhat.
Vector effectiveSampleSize(const std::vector<Matrix>& chains);

}  // namespace sbiw
