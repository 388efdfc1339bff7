#pragma once
// Dense containers shared by the whole engine. Rows are samples (one θ or one x per row),
// stored row-major so that one simulation's values are contiguous.

#include <Eigen/Core>

namespace sbiw {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

// Appends `rows` below `to` (same column count; `to` may be empty).
inline void appendRows(Matrix& to, const Matrix& rows) {
    const Eigen::Index before = to.rows();
    to.conservativeResize(before + rows.rows(), rows.cols());
    to.bottomRows(rows.rows()) = rows;
}

}  // namespace sbiw
