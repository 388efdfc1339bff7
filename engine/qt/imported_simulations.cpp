#include "qt/imported_simulations.h"

#include <stdexcept>

#include "core/csv.h"
#include "qt/simulator_factory.h"

namespace sbiw {

namespace {

// "lines 4, 9, 12, ..." (line 1 is the header, so row r is on line r + 2).
std::string lineList(const std::vector<std::int64_t>& rows) {
    std::string text = rows.size() == 1 ? "line " : "lines ";
    const std::size_t shown = std::min<std::size_t>(rows.size(), 8);
    for (std::size_t i = 0; i < shown; ++i)
        text += (i ? ", " : "") + std::to_string(rows[i] + 2);
    if (shown < rows.size())
        text += ", ...";
    return text;
}

}  // namespace

ImportedSimulations loadImportedSimulations(const Project& project) {
    if (project.simulator.kind != "imported")
        throw std::invalid_argument("the project's simulator is not imported");
    ImportedSimulations result;
    result.path = resolveAgainstProject(project, project.simulator.csv).toStdString();
    const CsvTable table = readCsv(result.path);  // CsvError names the file, line and column
    const std::vector<std::string> names = project.parameterNames();
    const int k = int(names.size());
    const int d = project.simulator.dataDimension;
    const std::string file = project.simulator.csv;
    if (table.values.cols() != k + d) {
        std::string expected;
        for (const auto& n : names)
            expected += (expected.empty() ? "" : ", ") + n;
        throw std::runtime_error(
            file + " has " + std::to_string(table.values.cols()) + " columns; the project needs " +
            std::to_string(k + d) + ": its " + std::to_string(k) + " parameters (" + expected +
            ") and then the " + std::to_string(d) + " data values (data_dimension)");
    }
    for (int j = 0; j < k; ++j)
        if (table.header[std::size_t(j)] != names[std::size_t(j)])
            throw std::runtime_error(
                file + ": column " + std::to_string(j + 1) + " is '" +
                table.header[std::size_t(j)] + "' where the project's parameter '" +
                names[std::size_t(j)] +
                "' is expected (the parameter columns come first, in the project's order)");
    const Matrix& values = table.values;
    result.rowsRead = values.rows();
    if (values.rows() == 0)
        throw std::runtime_error(file + " has a header but no simulations");

    std::vector<std::int64_t> badTheta, badX, outside;
    const JointPrior prior = project.makePrior();
    std::vector<std::int64_t> keep;
    for (Eigen::Index r = 0; r < values.rows(); ++r) {
        if (!values.row(r).head(k).allFinite()) {
            badTheta.push_back(r);
        } else if (!values.row(r).tail(d).allFinite()) {
            badX.push_back(r);
        } else if (!prior.inSupport(values.row(r).data())) {
            outside.push_back(r);
        } else {
            keep.push_back(r);
        }
    }
    if (!badTheta.empty())
        throw std::runtime_error(file + ": " + std::to_string(badTheta.size()) +
                                 " rows have parameters that are not finite numbers (" +
                                 lineList(badTheta) + "); every θ must be known");
    if (!badX.empty())
        result.notes.push_back(std::to_string(badX.size()) + " of " +
                               std::to_string(values.rows()) + " rows have non-finite data (" +
                               lineList(badX) + "): left out of training");
    if (!outside.empty())
        result.notes.push_back(std::to_string(outside.size()) + " of " +
                               std::to_string(values.rows()) +
                               " rows have θ outside the prior's support (" + lineList(outside) +
                               "): left out, the posterior lives on the prior's support");
    if (keep.empty())
        throw std::runtime_error(file + ": no usable simulations remain (" + result.notes.front() +
                                 ")");
    result.theta.resize(Eigen::Index(keep.size()), k);
    result.x.resize(Eigen::Index(keep.size()), d);
    for (std::size_t i = 0; i < keep.size(); ++i) {
        result.theta.row(Eigen::Index(i)) = values.row(keep[i]).head(k);
        result.x.row(Eigen::Index(i)) = values.row(keep[i]).tail(d);
    }
    return result;
}

}  // namespace sbiw
