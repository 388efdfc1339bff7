#include "core/csv.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sbiw {

namespace {

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\r");
    if (begin == std::string::npos) return {};
    const auto end = s.find_last_not_of(" \t\r");
    return s.substr(begin, end - begin + 1);
}

std::vector<std::string> splitCells(const std::string& line) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
        if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            cells.push_back(trim(cell));
            cell.clear();
        } else {
            cell += c;
        }
    }
    cells.push_back(trim(cell));
    return cells;
}

bool parseNumber(const std::string& cell, double& value) {
    std::string lower;
    for (char c : cell) lower += char(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "nan") {
        value = std::nan("");
        return true;
    }
    if (lower == "inf" || lower == "+inf") {
        value = HUGE_VAL;
        return true;
    }
    if (lower == "-inf") {
        value = -HUGE_VAL;
        return true;
    }
    const char* begin = cell.data();
    const char* end = begin + cell.size();
    if (begin != end && *begin == '+') ++begin;
    const auto result = std::from_chars(begin, end, value);
    return result.ec == std::errc() && result.ptr == end && begin != end;
}

}  // namespace

CsvTable parseCsv(const std::string& text, const std::string& sourceName) {
    std::istringstream in(text);
    std::string line;
    int lineNumber = 0;
    CsvTable table;
    std::vector<double> values;
    std::size_t rows = 0;
    bool haveHeader = false;
    while (std::getline(in, line)) {
        ++lineNumber;
        if (trim(line).empty()) continue;
        if (!haveHeader) {
            table.header = splitCells(line);
            haveHeader = true;
            continue;
        }
        const std::vector<std::string> cells = splitCells(line);
        if (cells.size() != table.header.size()) {
            throw CsvError(sourceName + ":" + std::to_string(lineNumber) + ": expected " +
                           std::to_string(table.header.size()) + " values (as in the header), found " +
                           std::to_string(cells.size()));
        }
        for (std::size_t c = 0; c < cells.size(); ++c) {
            double value = 0.0;
            if (!parseNumber(cells[c], value)) {
                throw CsvError(sourceName + ":" + std::to_string(lineNumber) + ": column " +
                               std::to_string(c + 1) + " ('" + table.header[c] +
                               "'): not a number: '" + cells[c] + "'");
            }
            values.push_back(value);
        }
        ++rows;
    }
    if (!haveHeader) throw CsvError(sourceName + ": the file is empty (expected a header line)");
    table.values = Matrix(Eigen::Index(rows), Eigen::Index(table.header.size()));
    if (!values.empty()) std::memcpy(table.values.data(), values.data(), values.size() * sizeof(double));
    return table;
}

CsvTable readCsv(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw CsvError(path + ": cannot open for reading (" + std::strerror(errno) + ")");
    std::ostringstream content;
    content << file.rdbuf();
    return parseCsv(content.str(), path);
}

std::string formatNumber(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return std::string(buffer, result.ptr);
}

std::string formatCsv(const std::vector<std::string>& header, const Matrix& values) {
    std::string out;
    out.reserve(std::size_t(values.size()) * 12 + 64);
    for (std::size_t c = 0; c < header.size(); ++c) {
        if (c) out += ',';
        out += header[c];
    }
    out += '\n';
    for (Eigen::Index r = 0; r < values.rows(); ++r) {
        for (Eigen::Index c = 0; c < values.cols(); ++c) {
            if (c) out += ',';
            out += formatNumber(values(r, c));
        }
        out += '\n';
    }
    return out;
}

void writeCsv(const std::string& path, const std::vector<std::string>& header, const Matrix& values) {
    if (Eigen::Index(header.size()) != values.cols())
        throw CsvError(path + ": header has " + std::to_string(header.size()) + " names for " +
                       std::to_string(values.cols()) + " columns");
    // Devices and pipes are written in place; regular files atomically (through a .part file).
    const bool special = isSpecialFile(path);
    const std::string temporary = special ? path : path + ".part";
    {
        std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
        if (!file) throw CsvError(path + ": cannot open for writing (" + std::strerror(errno) + ")");
        file << formatCsv(header, values);
        file.flush();
        if (!file) {
            const std::string reason = std::strerror(errno);
            file.close();
            if (!special) std::remove(temporary.c_str());
            throw CsvError(path + ": write failed (" + reason + "); nothing was written");
        }
    }
    if (!special && std::rename(temporary.c_str(), path.c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        std::remove(temporary.c_str());
        throw CsvError(path + ": cannot replace the file (" + reason + ")");
    }
}

bool isSpecialFile(const std::string& path) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    return !error && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status);
}

}  // namespace sbiw
