#pragma once
// Numeric CSV files in the sbibm layout: one header line with column names, then one row per
// sample. Errors name the file, line and column.

#include <stdexcept>
#include <string>
#include <vector>

#include "core/matrix.h"

namespace sbiw {

struct CsvTable {
    std::vector<std::string> header;
    Matrix values;
};

class CsvError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Reads a numeric table; "nan", "inf", "-inf" are accepted. Throws CsvError.
CsvTable readCsv(const std::string& path);
CsvTable parseCsv(const std::string& text, const std::string& sourceName);

// Writes with the shortest representation that reads back exactly. Throws CsvError.
// The file is written to a temporary name and renamed, so a failure leaves no partial file.
void writeCsv(const std::string& path, const std::vector<std::string>& header, const Matrix& values);
std::string formatCsv(const std::vector<std::string>& header, const Matrix& values);

// Shortest round-trip decimal form of a double ("nan", "inf", "-inf" for non-finite values).
std::string formatNumber(double value);

// True when `path` names something that must be written in place rather than replaced by an
// atomic rename: a device or pipe such as /dev/null or /dev/stdout (renaming onto it would turn
// it into a regular file).
bool isSpecialFile(const std::string& path);

}  // namespace sbiw
