#pragma once
// Reading and writing project files (*.sbiw): versioned, human-readable JSON.
// Loading never crashes on bad input: every problem is reported with the JSON path where it
// was found ("parameters[2].prior.high: must be greater than low"). Saving is atomic.

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <optional>

#include "core/problems.h"
#include "project/project.h"

namespace sbiw {

struct ProjectLoadResult {
    std::optional<Project> project;  // set when the file parsed and validated
    Problems problems;               // empty on success

    bool ok() const { return project.has_value(); }
    QString errorText() const;  // one line per problem
};

// Parses and validates. Structural problems (JSON syntax, wrong types, missing keys, unknown
// keys) and semantic ones (Project::validate) are both reported.
ProjectLoadResult parseProject(const QByteArray& json);
ProjectLoadResult loadProject(const QString& path);

QJsonObject projectToJson(const Project& project);
QByteArray serializeProject(const Project& project);  // indented JSON, stable key order

// Writes through QSaveFile: the old file stays intact unless the whole new one was written.
// Returns an empty string on success, else what went wrong.
QString saveProject(const Project& project, const QString& path);

}  // namespace sbiw
